using System.Numerics;
using StreamBets.Contracts;
using StreamBets.Pools.Payouts;

namespace StreamBets.Pools.Tests.Payouts;

/// <summary>
/// A settlement plan checked against the parimutuel rules worked independently in BigInteger, so no step can overflow
/// or round the way the calculator does.
/// </summary>
internal static class SettlementOracle
{
    /// <summary>
    /// Asserts that <paramref name="plan"/> settles <paramref name="bets"/> exactly: the total is the sum of the stakes,
    /// nothing is created or lost, the rake is floored and capped at what the losers staked, each winner is paid its
    /// floored share floor(s * (T - R) / W) and at least its stake, each loser nothing, and breakage is below one minor
    /// unit per winning bet. A pool with no winner or no loser refunds every stake.
    /// </summary>
    /// <returns>The winning bets whose s * (T - R) passes <see cref="long.MaxValue"/>, so needed 128 bits.</returns>
    public static int AssertSettles(IReadOnlyList<PoolBet> bets, IReadOnlyCollection<Guid> winners, int rakeBasisPoints, SettlementPlan plan)
    {
        BigInteger total = 0, winningStake = 0, paid = 0;
        foreach (var bet in bets)
        {
            total += bet.Stake.MinorUnits;
            winningStake += winners.Contains(bet.OutcomeId) ? bet.Stake.MinorUnits : 0;
        }

        foreach (var line in plan.Bets)
        {
            paid += line.Payout.MinorUnits;
        }

        Assert.Equal(bets.Count, plan.Bets.Count);
        Assert.Equal(total, plan.Total.MinorUnits);
        Assert.Equal(total, paid + plan.Rake.MinorUnits + plan.Breakage.MinorUnits);
        Assert.All(plan.Bets, line => Assert.False(line.Payout.IsNegative));
        Assert.False(plan.Breakage.IsNegative);

        if (winningStake == 0 || winningStake == total)
        {
            // Nobody to win from, or nobody who won: every stake goes back and the house takes nothing.
            Assert.Equal(Money.Zero, plan.Rake);
            Assert.Equal(Money.Zero, plan.Breakage);
            Assert.All(bets.Zip(plan.Bets), pair => Assert.Equal((pair.First.Stake, SettlementKind.Refund), (pair.Second.Payout, pair.Second.Kind)));
            return 0;
        }

        var rake = BigInteger.Min(total * rakeBasisPoints / 10_000, total - winningStake); // never more than the losers staked
        var netPool = total - rake;
        int winningBets = 0, wide = 0;
        Assert.Equal(rake, plan.Rake.MinorUnits);
        for (var i = 0; i < bets.Count; i++)
        {
            var (bet, line) = (bets[i], plan.Bets[i]);
            if (!winners.Contains(bet.OutcomeId))
            {
                Assert.Equal((Money.Zero, SettlementKind.Loss), (line.Payout, line.Kind));
                continue;
            }

            // payout = floor(s * net / W), i.e. payout * W <= s * net < (payout + 1) * W.
            winningBets++;
            var share = bet.Stake.MinorUnits * netPool;
            wide += share > long.MaxValue ? 1 : 0;
            Assert.Equal(SettlementKind.Win, line.Kind);
            if (line.Payout.MinorUnits * winningStake > share || (line.Payout.MinorUnits + 1) * winningStake <= share)
            {
                Assert.Fail($"Bet {i} staked {bet.Stake.MinorUnits} and was paid {line.Payout.MinorUnits}, not floor({bet.Stake.MinorUnits} * {netPool} / {winningStake}).");
            }
            if (line.Payout < bet.Stake)
            {
                Assert.Fail($"A winner was paid {line.Payout} for a stake of {bet.Stake}.");
            }
        }

        Assert.True(plan.Breakage.MinorUnits < winningBets, $"Breakage {plan.Breakage} is not below {winningBets} winning bets.");
        return wide;
    }
}
