using StreamBets.Contracts;

namespace StreamBets.Pools.Payouts;

/// <summary>The money staked so far on one outcome; outcomes missing from a list count as zero.</summary>
public readonly record struct OutcomeStake(Guid OutcomeId, Money Stake);

/// <summary>
/// An outcome's current return per unit staked, stake included (2.5 means 10.00 returns 25.00),
/// or null while nobody has backed it.
/// </summary>
public readonly record struct OutcomeOdds(Guid OutcomeId, Money Stake, decimal? ReturnPerUnit);

/// <summary>
/// Odds as they stand, for display while the pool is open, and what a resolved pool pays. They follow
/// <see cref="ParimutuelCalculator"/> exactly, including its refund rule: an outcome holding the whole pool returns 1,
/// since nobody is on the other side.
/// </summary>
public static class LiveOdds
{
    public static OutcomeOdds[] Calculate(ReadOnlySpan<OutcomeStake> stakes, int rakeBasisPoints)
    {
        long total = 0;
        foreach (var outcome in stakes)
        {
            total = checked(total + outcome.Stake.MinorUnits);
        }

        var odds = new OutcomeOdds[stakes.Length];
        for (var i = 0; i < stakes.Length; i++)
        {
            var stake = stakes[i].Stake.MinorUnits;
            var netPool = total - ParimutuelCalculator.RakeWhenWon(total, stake, rakeBasisPoints);
            decimal? returnPerUnit = stake == 0 ? null : stake == total ? 1m : (decimal)netPool / stake;
            odds[i] = new OutcomeOdds(stakes[i].OutcomeId, stakes[i].Stake, returnPerUnit);
        }

        return odds;
    }

    /// <summary>
    /// What a resolved pool pays per unit staked on each outcome, by settlement's own rule (<see cref="PayoutRule"/>): the
    /// winning outcomes share the net pool, so in a dead heat each returns (T − rake) / (their stakes together), and the
    /// losing ones return nothing (null). When settlement refunds instead (nobody backed a winner, or nobody backed a
    /// loser), every backed outcome returns 1. Outcomes nobody backed stay null.
    /// </summary>
    public static OutcomeOdds[] Resolved(ReadOnlySpan<OutcomeStake> stakes, ReadOnlySpan<Guid> winningOutcomeIds, int rakeBasisPoints)
    {
        long total = 0, winningStake = 0;
        foreach (var outcome in stakes)
        {
            total = checked(total + outcome.Stake.MinorUnits);
            if (winningOutcomeIds.Contains(outcome.OutcomeId))
            {
                winningStake += outcome.Stake.MinorUnits;
            }
        }

        var rule = PayoutRule.ForResolved(total, winningStake, rakeBasisPoints);
        var odds = new OutcomeOdds[stakes.Length];
        for (var i = 0; i < stakes.Length; i++)
        {
            decimal? returnPerUnit = stakes[i].Stake.MinorUnits == 0 ? null
                : rule.Basis != SettlementBasis.Parimutuel ? 1m
                : winningOutcomeIds.Contains(stakes[i].OutcomeId) ? (decimal)rule.NetPool / rule.WinningStake
                : null;
            odds[i] = new OutcomeOdds(stakes[i].OutcomeId, stakes[i].Stake, returnPerUnit);
        }

        return odds;
    }

    /// <summary>
    /// What a further <paramref name="stake"/> on <paramref name="outcomeId"/> would pay if that outcome won alone
    /// and no other bet arrived: the stake joins both the pool total and the outcome's stake. Floored, as settlement is.
    /// </summary>
    public static Money PotentialPayout(ReadOnlySpan<OutcomeStake> stakes, int rakeBasisPoints, Guid outcomeId, Money stake)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stake.MinorUnits, nameof(stake));
        long total = stake.MinorUnits, onOutcome = stake.MinorUnits;
        foreach (var outcome in stakes)
        {
            total = checked(total + outcome.Stake.MinorUnits);
            if (outcome.OutcomeId == outcomeId)
            {
                onOutcome += outcome.Stake.MinorUnits;
            }
        }

        if (onOutcome == total)
        {
            return stake;
        }

        var netPool = total - ParimutuelCalculator.RakeWhenWon(total, onOutcome, rakeBasisPoints);
        return new Money(ParimutuelCalculator.Payout(stake.MinorUnits, netPool, onOutcome));
    }
}
