using StreamBets.Web.Gateway;

namespace StreamBets.Web.Live;

/// <summary>
/// A page's list of live pools, kept current by the hub: it watches each pool shown (a pool's odds go to its own
/// stream, not its channel's) and applies their coalesced stakes in place, so a rush costs the page no reads.
/// Call it from the page's render context only.
/// </summary>
public sealed class LivePoolList(LiveUpdates live) : IAsyncDisposable
{
    private readonly HashSet<Guid> _watched = [];
    private readonly Dictionary<Guid, DateTimeOffset> _oddsAsOf = [];

    public Pool[]? Pools { get; private set; }

    /// <summary>Shows a fresh read of the pools, watching those new to the list and no longer those gone from it.</summary>
    public async Task ShowAsync(Pool[] pools)
    {
        Pools = pools;
        var ids = pools.Select(p => p.Id).ToHashSet();
        foreach (var gone in _watched.Where(id => !ids.Contains(id)).ToArray())
        {
            _watched.Remove(gone);
            _oddsAsOf.Remove(gone);
            await live.UnwatchPoolAsync(gone);
        }
        foreach (var added in ids.Where(_watched.Add).ToArray())
        {
            await live.WatchPoolAsync(added);
        }
    }

    public bool Shows(Guid poolId) => _watched.Contains(poolId);

    /// <returns>Whether the snapshot changed a pool shown.</returns>
    public bool Apply(OddsChangedMessage odds)
    {
        var index = Array.FindIndex(Pools ?? [], p => p.Id == odds.PoolId);
        // After a reconnect an older snapshot may arrive behind a newer one.
        if (index < 0 || odds.AsOf < _oddsAsOf.GetValueOrDefault(odds.PoolId))
        {
            return false;
        }
        _oddsAsOf[odds.PoolId] = odds.AsOf;
        Pools![index] = odds.ApplyTo(Pools[index]);
        return true;
    }

    /// <summary>A finished pool's payout is not pushed: a page showing one still paying out reads it again.</summary>
    public static bool AnyPayingOut(Pool[]? finished) => finished?.Any(p => p.SettledAt is null) == true;

    public async ValueTask DisposeAsync()
    {
        foreach (var pool in _watched)
        {
            await live.UnwatchPoolAsync(pool);
        }
        _watched.Clear();
    }
}
