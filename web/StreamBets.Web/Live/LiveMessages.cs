using StreamBets.Web.Gateway;

namespace StreamBets.Web.Live;

// The hub's client events, as docs/realtime.md (the realtime contract) defines them.

/// <summary>Every push names its stream ("pool:{id}", "channel:{c}" or "user") and its number in that stream.</summary>
public abstract record LiveMessage
{
    public string Stream { get; init; } = "";

    public long Sequence { get; init; }
}

public sealed record OutcomeStakesMessage(Guid OutcomeId, long StakedMinor, int BetCount);

public sealed record OddsChangedMessage(Guid PoolId, long TotalStakedMinor, IReadOnlyList<OutcomeStakesMessage> Outcomes, DateTimeOffset AsOf) : LiveMessage
{
    /// <summary>The pool as shown, with this snapshot's stakes (the odds follow from them).</summary>
    public Pool ApplyTo(Pool pool)
    {
        var byOutcome = Outcomes.ToDictionary(o => o.OutcomeId);
        return pool with
        {
            TotalStakedMinor = TotalStakedMinor,
            Outcomes = [.. pool.Outcomes.Select(o => byOutcome.TryGetValue(o.Id, out var s) ? o with { StakedMinor = s.StakedMinor, BetCount = s.BetCount } : o)],
        };
    }

    /// <summary>
    /// Whether this snapshot is later than <paramref name="shown"/>. Stakes only grow while a pool takes bets, so the
    /// larger total is the later one; <c>asOf</c> is the clock of whichever Bet Engine replica read the totals, and
    /// a snapshot replayed after a reconnect can come behind a newer one.
    /// </summary>
    public bool IsLaterThan(OddsChangedMessage? shown) => shown is null || TotalStakedMinor > shown.TotalStakedMinor;

    /// <summary>
    /// A fresh read of the pool, with this snapshot's stakes if they are newer. Pools' read can lag the Bet Engine's
    /// odds, and stakes only grow, so the larger total is the later one.
    /// </summary>
    public Pool Over(Pool read) => TotalStakedMinor > read.TotalStakedMinor ? ApplyTo(read) : read;
}

public sealed record PoolStateChangedMessage(Guid PoolId, string State, IReadOnlyList<Guid>? WinningOutcomeIds, DateTimeOffset At) : LiveMessage
{
    /// <summary>
    /// Whether this change is further along than <paramref name="heard"/>. A pool only moves forward (open, locked, then
    /// resolved or cancelled), so one that is not is the same change from the pool's other stream, or an older one late.
    /// </summary>
    public bool IsLaterThan(PoolStateChangedMessage? heard) => heard is null || Stage(State) > Stage(heard.State);

    /// <summary>
    /// A read of the pool, with this change if the read is not that far along yet: the page shows a pushed state whether
    /// its read fails (as every viewer of a popular pool reads it at once) or was sent before the change.
    /// </summary>
    public Pool Over(Pool read) => Stage(State) > Stage(read.State)
        ? read with { State = State, BettingOpen = false, WinningOutcomeIds = WinningOutcomeIds ?? read.WinningOutcomeIds }
        : read;

    private static int Stage(string state) => state switch
    {
        "locked" => 1,
        "resolved" or "cancelled" => 2,
        _ => 0,
    };
}

public sealed record PoolSettledMessage(Guid PoolId, DateTimeOffset SettledAt) : LiveMessage;

public sealed record PoolCreatedMessage(Guid PoolId, string Channel, string Title, DateTimeOffset At) : LiveMessage;

public sealed record BetSettledMessage(Guid BetId, Guid PoolId, string Result, long StakeMinor, long PayoutMinor, DateTimeOffset SettledAt) : LiveMessage
{
    /// <summary>
    /// The bet as settled. The hub and the Bet Engine's bet list follow the same event separately, so a list read right
    /// after this push may not have the result yet; pages apply the push to the bets they show instead.
    /// </summary>
    public Gateway.Bet ApplyTo(Gateway.Bet bet) => bet.SettledResult is not null ? bet : bet with { SettledResult = Result, PayoutMinor = PayoutMinor, SettledAt = SettledAt };
}

public sealed record WalletChangedMessage(long BalanceMinor, long DeltaMinor, string Reason, DateTimeOffset OccurredAt) : LiveMessage;

public sealed record ChatMessage(string Id, string Channel, Guid? UserId, string DisplayName, string Text, DateTimeOffset SentAt) : LiveMessage;

public sealed record ChatMessageDeletedMessage(string Channel, string Id) : LiveMessage;

/// <summary>Whether live updates flow: the UI says so, and pages fall back to polling while they do not.</summary>
public enum LiveStatus
{
    Connecting,
    Live,
    Offline,
}
