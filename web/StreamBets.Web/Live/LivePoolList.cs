using StreamBets.Web.Gateway;

namespace StreamBets.Web.Live;

/// <summary>
/// A page's channel of pools, live and finished, kept current by the hub. It watches the channel and each live pool
/// shown (a pool's odds go to its own stream, not its channel's), applies their coalesced stakes in place so a rush
/// costs the page no reads, and marks a finished pool paid out on its PoolSettled, even one pushed before the list
/// showed the pool. The page's lists are read again on a new pool, a state change (once, though it comes on two
/// streams), a reconnect, and every few seconds while the hub is unreachable or the last read failed.
/// </summary>
public sealed class LivePoolList : IAsyncDisposable
{
    private static readonly TimeSpan PollEvery = TimeSpan.FromSeconds(5);

    private readonly LiveUpdates _live;
    private readonly Func<Func<Task>, Task> _onPage;
    private readonly Func<Task> _reload;
    private readonly Action _changed;
    private readonly ITimer _poll;
    private readonly HashSet<Guid> _watched = [];
    private readonly Dictionary<Guid, OddsChangedMessage> _odds = [];
    private readonly Dictionary<Guid, DateTimeOffset> _settledAt = [];
    // The latest state change heard of each pool: Realtime pushes each on the pool's stream and its channel's, and the
    // second copy must not read the page's lists again (at a lock or resolve, when Pools is busiest).
    private readonly Dictionary<Guid, PoolStateChangedMessage> _stateHeard = [];
    // A page may be left while its first read is on its way: what that read would watch after the disposal, nothing unwatches.
    private bool _disposed;
    // The page's last read failed: with the hub live no push may come to read again, so the poll does.
    private bool _readFailed;

    /// <param name="onPage">Runs work in the page's render context (its <c>InvokeAsync</c>); the lists live there.</param>
    /// <param name="reload">Reads the page's lists again, which then calls <see cref="ShowAsync"/> and <see cref="ShowFinished"/>.</param>
    /// <param name="changed">Renders the page again (its <c>StateHasChanged</c>).</param>
    public LivePoolList(LiveUpdates live, TimeProvider time, Func<Func<Task>, Task> onPage, Func<Task> reload, Action changed)
    {
        (_live, _onPage, _reload, _changed) = (live, onPage, reload, changed);
        live.OddsChanged += OnOddsChanged;
        live.PoolSettled += OnPoolSettled;
        live.PoolStateChanged += OnPoolStateChanged;
        live.PoolCreated += OnPoolCreated;
        live.ReloadNeeded += OnReloadNeeded;
        _poll = time.CreateTimer(_ => OnPage(ReloadIfBehindAsync), null, PollEvery, PollEvery);
    }

    /// <summary>The channel watched, as "twitch:12826".</summary>
    public string? Channel { get; private set; }

    public Pool[]? Pools { get; private set; }

    /// <summary>The channel's finished pools, newest first.</summary>
    public Pool[]? Finished { get; private set; }

    public async Task WatchChannelAsync(string channel)
    {
        if (_disposed || Channel == channel)
        {
            return;
        }
        if (Channel is not null)
        {
            await _live.UnwatchChannelAsync(Channel);
        }
        Channel = channel;
        await _live.WatchChannelAsync(channel);
    }

    /// <summary>Shows a fresh read of the live pools, watching those new to the list and no longer those gone from it.</summary>
    public async Task ShowAsync(Pool[] pools)
    {
        if (_disposed)
        {
            return;
        }
        _readFailed = false;
        Pools = [.. pools.Select(p => _odds.TryGetValue(p.Id, out var odds) ? odds.Over(p) : p)];
        var ids = pools.Select(p => p.Id).ToHashSet();
        foreach (var gone in _watched.Where(id => !ids.Contains(id)).ToArray())
        {
            _watched.Remove(gone);
            _odds.Remove(gone);
            _stateHeard.Remove(gone);
            await _live.UnwatchPoolAsync(gone);
        }
        foreach (var added in ids.Where(_watched.Add).ToArray())
        {
            await _live.WatchPoolAsync(added);
        }
    }

    /// <summary>The page's read of the live pools failed (rate limited, a service away): the poll reads again until one shows.</summary>
    public void ReadFailed() => _readFailed = true;

    /// <summary>Shows a fresh read of the finished pools; one whose settlement was pushed already shows paid out.</summary>
    public void ShowFinished(Pool[] finished) =>
        Finished = [.. finished.Select(p => _settledAt.TryGetValue(p.Id, out var at) ? p.PaidOutAt(at) : p)];

    private void OnOddsChanged(OddsChangedMessage odds) => OnPage(() =>
    {
        var index = Array.FindIndex(Pools ?? [], p => p.Id == odds.PoolId);
        if (index >= 0 && odds.IsLaterThan(_odds.GetValueOrDefault(odds.PoolId)))
        {
            _odds[odds.PoolId] = odds;
            Pools![index] = odds.Over(Pools[index]); // not over a read that already counts later bets
            _changed();
        }
        return Task.CompletedTask;
    });

    private void OnPoolSettled(PoolSettledMessage settled) => OnPage(() =>
    {
        _settledAt[settled.PoolId] = settled.SettledAt;
        var index = Array.FindIndex(Finished ?? [], p => p.Id == settled.PoolId);
        if (index >= 0 && Finished![index].SettledAt is null)
        {
            Finished[index] = Finished[index].PaidOutAt(settled.SettledAt);
            _changed();
        }
        return Task.CompletedTask;
    });

    private void OnPoolStateChanged(PoolStateChangedMessage change) => OnPage(async () =>
    {
        if (_watched.Contains(change.PoolId) && change.IsLaterThan(_stateHeard.GetValueOrDefault(change.PoolId)))
        {
            _stateHeard[change.PoolId] = change;
            await ReloadAsync();
        }
    });

    private void OnPoolCreated(PoolCreatedMessage created) => OnPage(async () =>
    {
        if (created.Channel == Channel)
        {
            await ReloadAsync();
        }
    });

    private void OnReloadNeeded() => OnPage(ReloadAsync);

    private async Task ReloadIfBehindAsync()
    {
        if (_live.Status != LiveStatus.Live || _readFailed)
        {
            await ReloadAsync();
        }
    }

    private async Task ReloadAsync()
    {
        if (_disposed)
        {
            return; // queued before the page let this list go (another address): it is not the page's list any more
        }
        await _reload();
        _changed();
    }

    private void OnPage(Func<Task> work) => _ = _onPage(work);

    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        _poll.Dispose();
        _live.OddsChanged -= OnOddsChanged;
        _live.PoolSettled -= OnPoolSettled;
        _live.PoolStateChanged -= OnPoolStateChanged;
        _live.PoolCreated -= OnPoolCreated;
        _live.ReloadNeeded -= OnReloadNeeded;
        foreach (var pool in _watched)
        {
            await _live.UnwatchPoolAsync(pool);
        }
        if (Channel is not null)
        {
            await _live.UnwatchChannelAsync(Channel);
        }
    }
}
