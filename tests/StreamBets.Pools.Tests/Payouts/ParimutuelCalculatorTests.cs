using StreamBets.Contracts;
using StreamBets.Pools.Payouts;

namespace StreamBets.Pools.Tests.Payouts;

/// <summary>Golden vectors, each worked by hand in its comment.</summary>
public class ParimutuelCalculatorTests
{
    private static readonly Guid A = Guid.NewGuid(), B = Guid.NewGuid(), C = Guid.NewGuid();

    private static PoolBet Bet(Guid outcome, long stake) => new(Guid.NewGuid(), Guid.NewGuid(), outcome, new Money(stake));

    private static long[] Payouts(SettlementPlan plan) => [.. plan.Bets.Select(line => line.Payout.MinorUnits)];

    [Fact]
    public void Winning_bets_share_the_net_pool_pro_rata()
    {
        // T = 700 + 2300 + 4001 = 7001; rake = floor(7001 * 0.05) = floor(350.05) = 350; net = 6651; W = 3000.
        // 700 * 6651 / 3000 = 1551.9 -> 1551; 2300 * 6651 / 3000 = 5099.1 -> 5099; paid 6650, breakage 6651 - 6650 = 1.
        PoolBet[] bets = [Bet(A, 700), Bet(A, 2300), Bet(B, 4001)];

        var plan = ParimutuelCalculator.Settle(bets, [A], rakeBasisPoints: 500);

        Assert.Equal(SettlementBasis.Parimutuel, plan.Basis);
        Assert.Equal([1551, 5099, 0], Payouts(plan));
        Assert.Equal([SettlementKind.Win, SettlementKind.Win, SettlementKind.Loss], plan.Bets.Select(line => line.Kind));
        Assert.Equal(new Money(7001), plan.Total);
        Assert.Equal(new Money(350), plan.Rake);
        Assert.Equal(new Money(1), plan.Breakage);
        Assert.Equal(new Money(6650), plan.Paid);
    }

    [Fact]
    public void Lines_name_each_bet_and_its_owner_in_input_order()
    {
        PoolBet[] bets = [Bet(A, 10), Bet(B, 20), Bet(A, 30)];

        var plan = ParimutuelCalculator.Settle(bets, [A], rakeBasisPoints: 0);

        Assert.Equal(bets.Select(bet => (bet.BetId, bet.UserId)), plan.Bets.Select(line => (line.BetId, line.UserId)));
    }

    [Fact]
    public void In_a_dead_heat_everyone_on_any_winning_outcome_shares_the_net_pool_pro_rata()
    {
        // T = 1000 + 3000 + 6001 = 10001; rake = floor(10001 * 0.10) = 1000; net = 9001; W = 1000 + 3000 = 4000.
        // 1000 * 9001 / 4000 = 2250.25 -> 2250; 3000 * 9001 / 4000 = 6750.75 -> 6750; breakage 9001 - 9000 = 1.
        PoolBet[] bets = [Bet(A, 1000), Bet(B, 3000), Bet(C, 6001)];

        var plan = ParimutuelCalculator.Settle(bets, [A, B], rakeBasisPoints: 1000);

        Assert.Equal(SettlementBasis.Parimutuel, plan.Basis);
        Assert.Equal([2250, 6750, 0], Payouts(plan));
        Assert.Equal(new Money(1000), plan.Rake);
        Assert.Equal(new Money(1), plan.Breakage);
    }

    [Fact]
    public void Nobody_backing_the_winner_refunds_everyone_without_rake()
    {
        // T = 500 + 700 = 1200 on A and B; C wins, so W = 0: each stake goes back, rake 0, breakage 0.
        PoolBet[] bets = [Bet(A, 500), Bet(B, 700)];

        var plan = ParimutuelCalculator.Settle(bets, [C], rakeBasisPoints: 1000);

        Assert.Equal(SettlementBasis.NoStakeOnWinner, plan.Basis);
        Assert.Equal([500, 700], Payouts(plan));
        Assert.All(plan.Bets, line => Assert.Equal(SettlementKind.Refund, line.Kind));
        Assert.Equal(Money.Zero, plan.Rake);
        Assert.Equal(Money.Zero, plan.Breakage);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_single_sided_pool_refunds_everyone_without_rake_whoever_wins(bool stakedOutcomeWins)
    {
        // Everything is on A (T = W = 400 when A wins, W = 0 when B wins): there is nobody to win from, so 150 and 250 go back.
        PoolBet[] bets = [Bet(A, 150), Bet(A, 250)];

        var plan = ParimutuelCalculator.Settle(bets, [stakedOutcomeWins ? A : B], rakeBasisPoints: 1000);

        Assert.Equal(stakedOutcomeWins ? SettlementBasis.NoStakeOnLosers : SettlementBasis.NoStakeOnWinner, plan.Basis);
        Assert.Equal([150, 250], Payouts(plan));
        Assert.All(plan.Bets, line => Assert.Equal(SettlementKind.Refund, line.Kind));
        Assert.Equal(Money.Zero, plan.Rake);
        Assert.Equal(Money.Zero, plan.Breakage);
    }

    [Fact]
    public void A_dead_heat_covering_every_staked_outcome_refunds_everyone_without_rake()
    {
        // A and B both win and hold all of T = 300: no losing stake, so charging rake would only shrink everyone's money.
        PoolBet[] bets = [Bet(A, 100), Bet(B, 200)];

        var plan = ParimutuelCalculator.Settle(bets, [A, B], rakeBasisPoints: 1000);

        Assert.Equal(SettlementBasis.NoStakeOnLosers, plan.Basis);
        Assert.Equal([100, 200], Payouts(plan));
        Assert.All(plan.Bets, line => Assert.Equal(SettlementKind.Refund, line.Kind));
        Assert.Equal(Money.Zero, plan.Rake);
        Assert.Equal(Money.Zero, plan.Breakage);
    }

    [Fact]
    public void In_a_dead_heat_the_rake_still_takes_at_most_what_the_losers_staked()
    {
        // Winners A (2,500 + 500) and B (4,001), so W = 7,001; loser C (150 + 50) = 200; T = 7,201.
        // A 10 % rake is floor(720.1) = 720, more than the 200 the losers staked: rake = min(720, 7,201 - 7,001) = 200.
        // Net = 7,201 - 200 = 7,001 = W, so each winner gets s * 7,001 / 7,001 = s exactly: 2,500, 500, 4,001; breakage 0.
        // (With the full 720 the net would be 6,481 and B would get floor(4,001 * 6,481 / 7,001) = 3,703, less than staked.)
        PoolBet[] bets = [Bet(A, 2_500), Bet(A, 500), Bet(B, 4_001), Bet(C, 150), Bet(C, 50)];

        var plan = ParimutuelCalculator.Settle(bets, [A, B], rakeBasisPoints: 1000);

        Assert.Equal(SettlementBasis.Parimutuel, plan.Basis);
        Assert.Equal([2_500, 500, 4_001, 0, 0], Payouts(plan));
        Assert.Equal(
            [SettlementKind.Win, SettlementKind.Win, SettlementKind.Win, SettlementKind.Loss, SettlementKind.Loss],
            plan.Bets.Select(line => line.Kind));
        Assert.Equal(new Money(7_201), plan.Total);
        Assert.Equal(new Money(200), plan.Rake);
        Assert.Equal(Money.Zero, plan.Breakage);
        Assert.Equal(new Money(7_001), plan.Paid);
    }

    [Fact]
    public void Cancellation_refunds_every_stake_in_full()
    {
        PoolBet[] bets = [Bet(A, 100), Bet(B, 250), Bet(B, 1)];

        var plan = ParimutuelCalculator.Refund(bets);

        Assert.Equal(SettlementBasis.Cancelled, plan.Basis);
        Assert.Equal([100, 250, 1], Payouts(plan));
        Assert.All(plan.Bets, line => Assert.Equal(SettlementKind.Refund, line.Kind));
        Assert.Equal(new Money(351), plan.Total);
        Assert.Equal(Money.Zero, plan.Rake);
        Assert.Equal(Money.Zero, plan.Breakage);
    }

    [Fact]
    public void An_empty_pool_settles_to_nothing()
    {
        var resolved = ParimutuelCalculator.Settle([], [A], rakeBasisPoints: 500);
        var cancelled = ParimutuelCalculator.Refund([]);

        foreach (var plan in new[] { resolved, cancelled })
        {
            Assert.Empty(plan.Bets);
            Assert.Equal(Money.Zero, plan.Total);
            Assert.Equal(Money.Zero, plan.Rake);
            Assert.Equal(Money.Zero, plan.Breakage);
        }
    }

    [Fact]
    public void Without_rake_winners_share_the_whole_pool_less_breakage()
    {
        // T = 100 + 200 + 301 = 601; rake 0; W = 300. 100 * 601 / 300 = 200.33 -> 200; 200 * 601 / 300 = 400.67 -> 400; breakage 1.
        PoolBet[] bets = [Bet(A, 100), Bet(A, 200), Bet(B, 301)];

        var plan = ParimutuelCalculator.Settle(bets, [A], rakeBasisPoints: 0);

        Assert.Equal([200, 400, 0], Payouts(plan));
        Assert.Equal(Money.Zero, plan.Rake);
        Assert.Equal(new Money(1), plan.Breakage);
    }

    [Fact]
    public void Stakes_near_the_long_limit_settle_exactly()
    {
        PoolBet[] bets = [.. NearLongLimitVector.Stakes.Select(s => Bet(s.OutcomeIndex == 0 ? A : B, s.Stake))];

        var plan = ParimutuelCalculator.Settle(bets, [A], NearLongLimitVector.RakeBasisPoints);

        Assert.Equal(SettlementBasis.Parimutuel, plan.Basis);
        Assert.Equal(NearLongLimitVector.Payouts, Payouts(plan));
        Assert.Equal(NearLongLimitVector.Kinds, plan.Bets.Select(line => line.Kind));
        Assert.Equal(NearLongLimitVector.Rake, plan.Rake);
        Assert.Equal(NearLongLimitVector.Breakage, plan.Breakage);
        Assert.Equal(NearLongLimitVector.Total, plan.Total);
        Assert.Equal(NearLongLimitVector.Paid, plan.Paid);
    }

    [Fact]
    public void A_pool_total_beyond_the_long_limit_is_refused_rather_than_wrapped()
    {
        PoolBet[] bets = [Bet(A, long.MaxValue), Bet(B, 1)];

        Assert.Throws<OverflowException>(() => ParimutuelCalculator.Settle(bets, [A], rakeBasisPoints: 0));
        Assert.Throws<OverflowException>(() => ParimutuelCalculator.Refund(bets));
    }

    [Fact]
    public void A_winner_never_gets_back_less_than_their_stake_the_rake_takes_at_most_what_the_losers_staked()
    {
        // T = 10,000: 9,900 on A, 100 on B. A 5 % rake is 500, more than the 100 the losers staked: the rake is 100, the
        // net pool 9,900, and each winner gets exactly their stake back (with the full rake they would get 9,500 / 9,900 of it).
        PoolBet[] bets = [Bet(A, 4_950), Bet(A, 4_950), Bet(B, 100)];

        var plan = ParimutuelCalculator.Settle(bets, [A], rakeBasisPoints: 500);

        Assert.Equal([4_950, 4_950, 0], Payouts(plan));
        Assert.Equal(SettlementKind.Win, plan.Bets[0].Kind);
        Assert.Equal((new Money(100), Money.Zero), (plan.Rake, plan.Breakage));
    }

    [Fact]
    public void Rake_is_floored_so_a_fraction_of_a_minor_unit_stays_with_the_players()
    {
        // 9999 * 0.0001 = 0.9999 -> 0; 10_000 * 0.0001 = 1.
        Assert.Equal(0, ParimutuelCalculator.Rake(9_999, rakeBasisPoints: 1));
        Assert.Equal(1, ParimutuelCalculator.Rake(10_000, rakeBasisPoints: 1));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public void A_bet_without_a_positive_stake_is_corrupt_input(long stake)
    {
        PoolBet[] bets = [Bet(A, 10), Bet(B, stake)];

        Assert.Throws<ArgumentException>(() => ParimutuelCalculator.Settle(bets, [A], rakeBasisPoints: 0));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(10_001)]
    public void A_rake_outside_zero_to_one_hundred_percent_is_refused(int rakeBasisPoints)
    {
        PoolBet[] bets = [Bet(A, 10), Bet(B, 10)];

        Assert.Throws<ArgumentOutOfRangeException>(() => ParimutuelCalculator.Settle(bets, [A], rakeBasisPoints));
    }

    [Fact]
    public void A_million_bets_at_the_max_stake_settle_exactly()
    {
        // 1,000,000 bets across 10 outcomes, dead heat on two. A pool's max stake has no ceiling, so the largest a million
        // bets can each stake is long.MaxValue / 1,000,000 (9,223,372,036,854 minor units): every tenth bet stakes up to
        // that, the rest up to R$ 10,000.00 (1,000,000 minor units). The total stays within a long, but s * net does not.
        const int count = 1_000_000;
        const long maxStake = long.MaxValue / count;
        var outcomes = Enumerable.Range(0, 10).Select(_ => Guid.NewGuid()).ToArray();
        var winners = outcomes[..2];
        var random = new Random(42);
        var bets = new PoolBet[count];
        for (var i = 0; i < bets.Length; i++)
        {
            var stake = i % 10 == 0 ? random.NextInt64(1, maxStake + 1) : random.Next(1, 1_000_001);
            bets[i] = new PoolBet(new Guid((uint)i, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), new Guid((uint)i, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0),
                outcomes[random.Next(outcomes.Length)], new Money(stake));
        }

        // Speed is measured by the settlement benchmark (docs/benchmarks.md), not by a timed test.
        var plan = ParimutuelCalculator.Settle(bets, winners, rakeBasisPoints: 500);

        // Total against the stakes summed apart, every line against floor(s * (T - R) / W) in BigInteger, breakage
        // below one minor unit per winning bet.
        var wide = SettlementOracle.AssertSettles(bets, winners, rakeBasisPoints: 500, plan);
        Assert.True(wide > 100_000, $"Only {wide} winning shares needed 128 bits.");
    }
}

/// <summary>
/// A pool whose total is long.MaxValue - 1, settled both all at once (<see cref="ParimutuelCalculatorTests"/>) and
/// streamed (<see cref="PayoutRunTests"/>), so both paths are held to the same hand-worked figures.
/// </summary>
internal static class NearLongLimitVector
{
    // T = 3_000_000_000_000_000_000 + 1_611_686_018_427_387_903 + 4_611_686_018_427_387_903 = 9_223_372_036_854_775_806 = long.MaxValue - 1.
    // rake = floor(T * 250 / 10000) = 230_584_300_921_369_395 (T * 250 overflows a long); net = 8_992_787_735_933_406_411.
    // W = 4_611_686_018_427_387_903, so each winner's s * net is about 10^37 and needs 128 bits.
    // 3e18 * net / W = 5_850_000_000_000_000_000.098 -> 5_850_000_000_000_000_000
    // 1_611_686_018_427_387_903 * net / W = 3_142_787_735_933_406_410.902 -> 3_142_787_735_933_406_410; paid net - 1, breakage 1.
    public const int RakeBasisPoints = 250;

    /// <summary>In bet order; outcome 0 wins, outcome 1 loses.</summary>
    public static readonly (int OutcomeIndex, long Stake)[] Stakes =
        [(0, 3_000_000_000_000_000_000), (0, 1_611_686_018_427_387_903), (1, 4_611_686_018_427_387_903)];

    public static readonly long[] Payouts = [5_850_000_000_000_000_000, 3_142_787_735_933_406_410, 0];
    public static readonly SettlementKind[] Kinds = [SettlementKind.Win, SettlementKind.Win, SettlementKind.Loss];
    public static readonly Money Total = new(long.MaxValue - 1);
    public static readonly Money Rake = new(230_584_300_921_369_395);
    public static readonly Money Breakage = new(1);
    public static readonly Money Paid = new(8_992_787_735_933_406_410);
}
