using CsCheck;
using StreamBets.Contracts;
using StreamBets.Pools.Payouts;

namespace StreamBets.Pools.Tests.Payouts;

/// <summary>
/// The settlement invariants on thousands of random pools, checked against arithmetic done independently in BigInteger.
/// </summary>
public class ParimutuelPropertyTests
{
    private static readonly Guid[] Outcomes = [.. Enumerable.Range(0, 10).Select(_ => Guid.NewGuid())];

    // Mostly ordinary stakes, sometimes huge ones: 200 bets of at most long.MaxValue / 200 cannot overflow the total.
    private static readonly Gen<long> Stake = Gen.Frequency(
        (6, Gen.Long[1, 10_000]),
        (3, Gen.Long[1, 100_000_000_000]),
        (1, Gen.Long[1, long.MaxValue / 200]));

    private static readonly Gen<PoolBet> Bet =
        Gen.Select(Gen.Guid, Gen.Guid, Gen.Int[0, Outcomes.Length - 1], Stake,
            (betId, userId, outcome, stake) => new PoolBet(betId, userId, Outcomes[outcome], new Money(stake)));

    private static readonly Gen<(PoolBet[] Bets, Guid[] Winners, int RakeBasisPoints)> Pools =
        Gen.Select(
            Bet.Array[0, 200],
            Gen.Int[0, Outcomes.Length - 1].Array[1, 3],
            Gen.Int[0, 5000],
            (bets, winners, rake) => (bets, winners.Distinct().Select(i => Outcomes[i]).ToArray(), rake));

    [Fact]
    public void Every_settlement_conserves_the_pool_and_pays_each_winner_its_floored_share()
    {
        Pools.Sample(pool =>
        {
            var (bets, winners, rakeBasisPoints) = pool;
            var plan = ParimutuelCalculator.Settle(bets, winners, rakeBasisPoints);

            SettlementOracle.AssertSettles(bets, winners, rakeBasisPoints, plan);
        }, iter: 5_000);
    }

    [Fact]
    public void Cancellation_returns_exactly_what_was_staked()
    {
        Bet.Array[0, 200].Sample(bets =>
        {
            var plan = ParimutuelCalculator.Refund(bets);

            Assert.Equal(bets.Select(bet => (bet.BetId, bet.Stake)), plan.Bets.Select(line => (line.BetId, line.Payout)));
            Assert.Equal(plan.Total, plan.Paid);
        }, iter: 2_000);
    }
}
