using StreamBets.Contracts.Wallet;

namespace StreamBets.BetEngine.Placement;

/// <summary>A player's request to stake <paramref name="StakeMinor"/> on one outcome of a pool.</summary>
public sealed record PlaceBetCommand(Guid UserId, Guid PoolId, Guid OutcomeId, long StakeMinor, string IdempotencyKey, Guid? SessionId = null)
{
    /// <summary>The same key names the same bet only when pool, outcome and stake also match.</summary>
    public bool HasSameBodyAs(BetRecord bet) => bet.PoolId == PoolId && bet.OutcomeId == OutcomeId && bet.StakeMinor == StakeMinor;

    public bool HasSameBodyAs(PlaceBetCommand other) => other.PoolId == PoolId && other.OutcomeId == OutcomeId && other.StakeMinor == StakeMinor;
}

public enum BetStatus
{
    Pending,
    Accepted,
    Rejected,
}

/// <summary>A bet as stored: pending until its stake's fate is known, then accepted or rejected.</summary>
public sealed record BetRecord(
    Guid BetId,
    Guid UserId,
    Guid PoolId,
    Guid OutcomeId,
    long StakeMinor,
    BetStatus Status,
    DateTimeOffset PlacedAt,
    BetRejection? Rejection = null,
    BetSettlement? Settlement = null);

/// <summary>What settlement paid on a bet: "won", "lost" or "refunded".</summary>
public sealed record BetSettlement(string Result, long PayoutMinor, DateTimeOffset SettledAt);

/// <summary>A bet written as pending, with everything needed to move (or replay) its stake.</summary>
public sealed record PendingBet(Guid BetId, Guid UserId, Guid PoolId, Guid OutcomeId, long StakeMinor, DateTimeOffset PlacedAt)
{
    public Guid StakeTransferId => BetTransferIds.Stake(BetId);

    public BetRecord ToRecord(BetStatus status, BetRejection? rejection = null) =>
        new(BetId, UserId, PoolId, OutcomeId, StakeMinor, status, PlacedAt, rejection);
}

/// <summary>
/// Ledger transfer ids derived from the bet id, so a replay after a crash carries the same id without having stored
/// anything else, and the ledger applies it once.
/// </summary>
public static class BetTransferIds
{
    public static Guid Stake(Guid betId) => WalletTransferIds.FromName($"bet:{betId}:stake");

    public static Guid Refund(Guid betId) => WalletTransferIds.FromName($"bet:{betId}:refund");
}

/// <summary>
/// How a placement was answered. <see cref="Bet"/> is null when the request was refused before a bet was recorded
/// (pool, stake, eligibility...); <see cref="Rejection"/> is null for an accepted or pending bet.
/// </summary>
public sealed record PlacementResult(BetRecord? Bet, BetRejection? Rejection, bool Replayed = false)
{
    public static PlacementResult Refused(BetRejection rejection) => new(null, rejection);

    public static PlacementResult Of(BetRecord bet, bool replayed = false) => new(bet, bet.Rejection, replayed);

    public bool IsAccepted => Bet?.Status == BetStatus.Accepted;

    public PlacementResult AsReplay() => this with { Replayed = true };
}
