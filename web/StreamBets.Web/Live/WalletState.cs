using StreamBets.Web.Gateway;

namespace StreamBets.Web.Live;

/// <summary>
/// The player's balance for this circuit: read once from the wallet API, then kept current by WalletChanged from the
/// hub, or re-read after the player's own actions and after a reconnect (when a change may have been missed). An
/// action's answer never sets it: a replayed answer carries the balance of its first time, and any answer may arrive
/// behind a newer push. A read that fails (Users away) is tried again after a few seconds, then less often.
/// </summary>
public sealed class WalletState : IDisposable
{
    // A read refused for a while (Users away for every player) is retried every 3 s at first, then every 30 s.
    private static readonly TimeSpan RetryFirstAfter = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan RetryAtMost = TimeSpan.FromSeconds(30);

    private readonly GatewayClient _gateway;
    private readonly LiveUpdates _live;
    private readonly ITimer _retry;
    private TimeSpan _retryAfter = RetryFirstAfter;
    private long _lastSequence = -1;
    // Set by the first read: a balance never read nor pushed (an anonymous visitor's) is not read on a reload either.
    private bool _read;

    public WalletState(GatewayClient gateway, LiveUpdates live, TimeProvider time)
    {
        _gateway = gateway;
        _live = live;
        _retry = time.CreateTimer(_ => _ = RefreshAsync(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _live.WalletChanged += OnWalletChanged;
        _live.ReloadNeeded += OnReloadNeeded;
    }

    public long? BalanceMinor { get; private set; }

    public event Action? Changed;

    public async Task RefreshAsync()
    {
        _read = true;
        var pushedBefore = _lastSequence;
        var wallet = await _gateway.WalletAsync();
        if (!wallet.Succeeded)
        {
            // Otherwise the balance stays unknown or stale until a push or a reconnect, which may be many minutes away.
            // A refusal that is an answer (a session ended) is not read again.
            if (wallet.Problem!.Status is >= 500 or 429)
            {
                _retry.Change(_retryAfter, Timeout.InfiniteTimeSpan);
                _retryAfter = TimeSpan.FromTicks(Math.Min(_retryAfter.Ticks * 2, RetryAtMost.Ticks));
            }
            return;
        }
        _retryAfter = RetryFirstAfter;
        // A balance pushed while the read was on its way is at least as new as the read's.
        if (_lastSequence == pushedBefore)
        {
            Set(wallet.Value!.BalanceMinor);
        }
    }

    private void Set(long balanceMinor)
    {
        BalanceMinor = balanceMinor;
        Changed?.Invoke();
    }

    private void OnWalletChanged(WalletChangedMessage message)
    {
        // Sequences grow per user stream; an older one arriving late must not undo a newer balance.
        if (message.Sequence <= _lastSequence)
        {
            return;
        }
        _lastSequence = message.Sequence;
        Set(message.BalanceMinor);
    }

    /// <summary>
    /// The user stream may have started over (catch-up-gap, Realtime's counter lost): its new numbers start low, so the
    /// last one heard no longer orders them. The read sets the balance, and pushes after it count from there.
    /// </summary>
    private void OnReloadNeeded()
    {
        _lastSequence = -1;
        if (_read || BalanceMinor is not null)
        {
            _ = RefreshAsync();
        }
    }

    public void Dispose()
    {
        _retry.Dispose();
        _live.WalletChanged -= OnWalletChanged;
        _live.ReloadNeeded -= OnReloadNeeded;
    }
}
