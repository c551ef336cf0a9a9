using StreamBets.Web.Gateway;

namespace StreamBets.Web.Live;

/// <summary>
/// A page's live pools and recent results, kept current by the hub: it watches each live pool shown (a pool's odds go
/// to its own stream, not its channel's) and applies their coalesced stakes in place, so a rush costs the page no
/// reads; and it marks a finished pool paid out when its PoolSettled arrives, even if that came before the list
/// showing the pool. Call it from the page's render context only.
/// </summary>
public sealed class LivePoolList(LiveUpdates live) : IAsyncDisposable
{
    private readonly HashSet<Guid> _watched = [];
    private readonly Dictionary<Guid, DateTimeOffset> _oddsAsOf = [];
    private readonly Dictionary<Guid, DateTimeOffset> _settledAt = [];

    public Pool[]? Pools { get; private set; }

    /// <summary>The channel's finished pools, newest first.</summary>
    public Pool[]? Finished { get; private set; }

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

    /// <summary>Shows a fresh read of the finished pools; one whose settlement was pushed already shows paid out.</summary>
    public void ShowFinished(Pool[] finished) =>
        Finished = [.. finished.Select(p => p.SettledAt is null && _settledAt.TryGetValue(p.Id, out var at) ? p with { SettledAt = at } : p)];

    /// <returns>Whether the settlement changed a pool shown.</returns>
    public bool Apply(PoolSettledMessage settled)
    {
        _settledAt[settled.PoolId] = settled.SettledAt;
        var index = Array.FindIndex(Finished ?? [], p => p.Id == settled.PoolId);
        if (index < 0 || Finished![index].SettledAt is not null)
        {
            return false;
        }
        Finished[index] = Finished[index] with { SettledAt = settled.SettledAt };
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var pool in _watched)
        {
            await live.UnwatchPoolAsync(pool);
        }
        _watched.Clear();
    }
}
