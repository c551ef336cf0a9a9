using StreamBets.Web.Gateway;

namespace StreamBets.Web.Live;

/// <summary>
/// The player's balance for this circuit: read once from the wallet API, then kept current by WalletChanged from the
/// hub, or re-read after the player's own actions and after a reconnect (when a change may have been missed). An
/// action's answer never sets it: a replayed answer carries the balance of its first time, and any answer may arrive
/// behind a newer push.
/// </summary>
public sealed class WalletState : IDisposable
{
    private readonly GatewayClient _gateway;
    private readonly LiveUpdates _live;
    private long _lastSequence = -1;
    // Set by the first read: a balance never read nor pushed (an anonymous visitor's) is not read on a reload either.
    private bool _read;

    public WalletState(GatewayClient gateway, LiveUpdates live)
    {
        _gateway = gateway;
        _live = live;
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
        // A balance pushed while the read was on its way is at least as new as the read's.
        if (wallet.Succeeded && _lastSequence == pushedBefore)
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
        _live.WalletChanged -= OnWalletChanged;
        _live.ReloadNeeded -= OnReloadNeeded;
    }
}
