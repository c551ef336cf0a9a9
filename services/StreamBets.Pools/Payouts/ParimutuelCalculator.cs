using StreamBets.Contracts;

namespace StreamBets.Pools.Payouts;

/// <summary>
/// Parimutuel settlement in integer minor units. For pool total T, rake rate r and stake W on the
/// winning outcome(s), the rake is R = min(floor(T * r), T - W) and a winning stake s is paid floor(s * (T - R) / W); the
/// remainder is breakage. The rake never takes more than the losers staked, so a winner never gets back less than their
/// stake (a "minus pool": 9,900 on the winner and 100 against would otherwise pay the winners 9,405).
/// </summary>
/// <remarks>
/// Bad input here (a non-positive stake, a total beyond <see cref="long.MaxValue"/>, a rake outside 0..100 %)
/// means stored bets are corrupt, not that a player erred, so it throws instead of returning an error.
/// </remarks>
public static class ParimutuelCalculator
{
    public const int BasisPointsPerUnit = 10_000;

    /// <summary>
    /// Settles a resolved pool. With several winning outcomes (a dead heat) W is their combined stake, so everyone
    /// on any winning outcome shares the net pool pro rata, as pooled tote dead heats fall out.
    /// </summary>
    public static SettlementPlan Settle(ReadOnlySpan<PoolBet> bets, ReadOnlySpan<Guid> winningOutcomeIds, int rakeBasisPoints)
    {
        // One pass for the totals, one for the lines: no per-bet allocation, since a pool may hold a million bets.
        long total = 0, winningStake = 0;
        foreach (ref readonly var bet in bets)
        {
            var stake = StakeOf(bet);
            total = checked(total + stake);
            if (winningOutcomeIds.Contains(bet.OutcomeId))
            {
                winningStake += stake; // never exceeds total, so it cannot overflow
            }
        }

        var rule = PayoutRule.ForResolved(total, winningStake, rakeBasisPoints);
        if (rule.Basis != SettlementBasis.Parimutuel)
        {
            return RefundAll(bets, rule.Basis, total);
        }

        var lines = new BetSettlement[bets.Length];
        long paid = 0;
        for (var i = 0; i < bets.Length; i++)
        {
            ref readonly var bet = ref bets[i];
            var (payout, kind) = rule.Line(bet.Stake.MinorUnits, winningOutcomeIds.Contains(bet.OutcomeId));
            lines[i] = new BetSettlement(bet.BetId, bet.UserId, new Money(payout), kind);
            paid += payout; // each payout is floored, so the sum stays within netPool
        }

        return new SettlementPlan(SettlementBasis.Parimutuel, lines, new Money(total), new Money(rule.Rake), new Money(rule.NetPool - paid));
    }

    /// <summary>Settles a cancelled pool (by hand, after lock, or abandoned): every stake goes back, no rake.</summary>
    public static SettlementPlan Refund(ReadOnlySpan<PoolBet> bets)
    {
        long total = 0;
        foreach (ref readonly var bet in bets)
        {
            total = checked(total + StakeOf(bet));
        }

        return RefundAll(bets, SettlementBasis.Cancelled, total);
    }

    /// <summary>
    /// The house's cut of a pool won with <paramref name="winningStake"/> on the winners: the rake, but at most what the
    /// losers staked.
    /// </summary>
    public static long RakeWhenWon(long total, long winningStake, int rakeBasisPoints) =>
        Math.Min(Rake(total, rakeBasisPoints), total - winningStake);

    /// <summary>The house's cut, floored so a fraction of a minor unit stays with the players.</summary>
    public static long Rake(long total, int rakeBasisPoints)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rakeBasisPoints);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(rakeBasisPoints, BasisPointsPerUnit);
        return (long)((Int128)total * rakeBasisPoints / BasisPointsPerUnit);
    }

    /// <summary>
    /// A winning stake's share of the net pool, floored so the pool never pays out more than it holds.
    /// The product can pass <see cref="long.MaxValue"/> for large pools, hence the 128-bit intermediate;
    /// the quotient fits in a long because stake ≤ winningStake.
    /// </summary>
    public static long Payout(long stake, long netPool, long winningStake) =>
        (long)((Int128)stake * netPool / winningStake);

    private static long StakeOf(in PoolBet bet) =>
        bet.Stake.IsPositive
            ? bet.Stake.MinorUnits
            : throw new ArgumentException($"Bet {bet.BetId} stakes {bet.Stake}; an accepted bet stakes at least one minor unit.", "bets");

    private static SettlementPlan RefundAll(ReadOnlySpan<PoolBet> bets, SettlementBasis basis, long total)
    {
        var lines = new BetSettlement[bets.Length];
        for (var i = 0; i < bets.Length; i++)
        {
            lines[i] = new BetSettlement(bets[i].BetId, bets[i].UserId, bets[i].Stake, SettlementKind.Refund);
        }

        return new SettlementPlan(basis, lines, new Money(total), Money.Zero, Money.Zero);
    }
}

/// <summary>
/// How every bet of one pool is paid, once the pool's total and the stake on its winning outcome(s) are known.
/// Shared by <see cref="ParimutuelCalculator"/> (all bets at hand) and <see cref="PayoutRun"/> (bets in pieces), so both pay alike.
/// </summary>
internal readonly record struct PayoutRule(SettlementBasis Basis, long NetPool, long WinningStake, long Rake)
{
    public static PayoutRule ForResolved(long total, long winningStake, int rakeBasisPoints)
    {
        // Covers the single-sided pool too: its one outcome either won (no losers) or lost (no winners).
        if (winningStake == 0)
        {
            return Refund(SettlementBasis.NoStakeOnWinner);
        }

        if (winningStake == total)
        {
            return Refund(SettlementBasis.NoStakeOnLosers);
        }

        var rake = ParimutuelCalculator.RakeWhenWon(total, winningStake, rakeBasisPoints);
        return new PayoutRule(SettlementBasis.Parimutuel, total - rake, winningStake, rake);
    }

    public static PayoutRule Refund(SettlementBasis basis) => new(basis, 0, 0, 0);

    public (long Payout, SettlementKind Kind) Line(long stake, bool onWinningOutcome) =>
        Basis != SettlementBasis.Parimutuel ? (stake, SettlementKind.Refund)
        : onWinningOutcome ? (ParimutuelCalculator.Payout(stake, NetPool, WinningStake), SettlementKind.Win)
        : (0, SettlementKind.Loss);
}
