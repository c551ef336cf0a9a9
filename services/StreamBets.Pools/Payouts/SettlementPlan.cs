using StreamBets.Contracts;

namespace StreamBets.Pools.Payouts;

/// <summary>
/// What settlement must move out of a pool's escrow: one line per bet (escrow → user), the rake
/// (escrow → house) and the breakage (escrow → breakage account). The three add up to <see cref="Total"/> exactly.
/// </summary>
public sealed record SettlementPlan(
    SettlementBasis Basis,
    IReadOnlyList<BetSettlement> Bets,
    Money Total,
    Money Rake,
    Money Breakage)
{
    /// <summary>The sum of every line's payout, refunds included.</summary>
    public Money Paid => Total - Rake - Breakage;
}

/// <summary>What one bet receives from escrow. A losing bet is listed with zero so every bet gets settled.</summary>
public readonly record struct BetSettlement(Guid BetId, Guid UserId, Money Payout, SettlementKind Kind);

public enum SettlementKind
{
    Win,
    Refund,
    Loss,
}

/// <summary>Why the plan looks the way it does, so settlement and notifications can say so to players.</summary>
public enum SettlementBasis
{
    /// <summary>Winners share the pool after rake.</summary>
    Parimutuel,

    /// <summary>Nobody backed a winning outcome (an empty pool lands here too): everyone is refunded, no rake.</summary>
    NoStakeOnWinner,

    /// <summary>Nobody backed a losing outcome, so there is nothing to win: everyone is refunded, no rake.</summary>
    NoStakeOnLosers,

    /// <summary>The pool was cancelled: everyone is refunded, no rake.</summary>
    Cancelled,
}
