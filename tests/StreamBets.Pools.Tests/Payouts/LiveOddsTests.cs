using CsCheck;
using StreamBets.Contracts;
using StreamBets.Pools.Payouts;

namespace StreamBets.Pools.Tests.Payouts;

public class LiveOddsTests
{
    private static readonly Guid A = Guid.NewGuid(), B = Guid.NewGuid(), C = Guid.NewGuid();

    [Fact]
    public void Each_outcome_shows_the_net_pool_per_unit_it_holds()
    {
        // T = 3000 + 1000 + 0 = 4000; rake = floor(4000 * 0.05) = 200; net = 3800.
        // A: 3800 / 3000 = 1.2666…; B: 3800 / 1000 = 3.8; C: nobody yet, so no odds.
        OutcomeStake[] stakes = [new(A, new Money(3000)), new(B, new Money(1000)), new(C, Money.Zero)];

        var odds = LiveOdds.Calculate(stakes, rakeBasisPoints: 500);

        Assert.Equal([A, B, C], odds.Select(o => o.OutcomeId));
        Assert.Equal(3800m / 3000m, odds[0].ReturnPerUnit);
        Assert.Equal(3.8m, odds[1].ReturnPerUnit);
        Assert.Null(odds[2].ReturnPerUnit);
    }

    [Fact]
    public void An_outcome_holding_the_whole_pool_shows_its_stake_coming_back()
    {
        // Nobody on the other side means a refund, whatever the rake.
        var odds = LiveOdds.Calculate([new(A, new Money(2500)), new(B, Money.Zero)], rakeBasisPoints: 1000);

        Assert.Equal(1m, odds[0].ReturnPerUnit);
    }

    [Fact]
    public void A_favourite_whose_losers_hold_less_than_the_rake_shows_at_least_its_stake_back()
    {
        // T = 10,000: 9,900 on A, 100 on B. The rake (500) takes at most B's 100: A returns 9,900 / 9,900 = 1, B 9,500 / 100.
        var odds = LiveOdds.Calculate([new(A, new Money(9_900)), new(B, new Money(100))], rakeBasisPoints: 500);

        Assert.Equal([1m, 95m], odds.Select(o => o.ReturnPerUnit!.Value));
        Assert.Equal(new Money(1_000), LiveOdds.PotentialPayout([new(A, new Money(9_900)), new(B, new Money(100))], rakeBasisPoints: 500, A, new Money(1_000)));
    }

    [Fact]
    public void A_dead_heat_shows_each_winner_the_shared_net_pool_per_unit_and_the_loser_nothing()
    {
        // T = 1000, rake = floor(1000 * 0.05) = 50, W = 200 + 300: each winning unit gets 950 / 500 = 1.90, as settlement
        // pays it; alone, A would have shown 4.75 and B 3.1667.
        OutcomeStake[] stakes = [new(A, new Money(200)), new(B, new Money(300)), new(C, new Money(500))];

        var odds = LiveOdds.Resolved(stakes, [A, B], rakeBasisPoints: 500);

        Assert.Equal([1.9m, 1.9m, null], odds.Select(o => o.ReturnPerUnit));
        var plan = ParimutuelCalculator.Settle(
            [new PoolBet(Guid.NewGuid(), Guid.NewGuid(), A, new Money(200)), new PoolBet(Guid.NewGuid(), Guid.NewGuid(), B, new Money(300)),
             new PoolBet(Guid.NewGuid(), Guid.NewGuid(), C, new Money(500))], [A, B], 500);
        Assert.Equal([380L, 570L, 0L], plan.Bets.Select(b => b.Payout.MinorUnits));
    }

    [Fact]
    public void A_single_winner_shows_the_net_pool_per_unit_it_held_and_the_losers_nothing()
    {
        // T = 1000, rake 50: C returns 950 / 500 = 1.9; A and B lost.
        OutcomeStake[] stakes = [new(A, new Money(200)), new(B, new Money(300)), new(C, new Money(500))];

        var odds = LiveOdds.Resolved(stakes, [C], rakeBasisPoints: 500);

        Assert.Equal([null, null, 1.9m], odds.Select(o => o.ReturnPerUnit));
    }

    [Fact]
    public void A_pool_won_by_an_outcome_nobody_backed_shows_every_backed_outcome_its_stake_back()
    {
        // Settlement refunds everyone, rake-free; C won but holds nothing, so it has no return either.
        OutcomeStake[] stakes = [new(A, new Money(200)), new(B, new Money(300)), new(C, Money.Zero)];

        var odds = LiveOdds.Resolved(stakes, [C], rakeBasisPoints: 500);

        Assert.Equal([1m, 1m, null], odds.Select(o => o.ReturnPerUnit));
    }

    [Fact]
    public void A_pool_whose_winners_hold_every_stake_shows_them_their_stake_back()
    {
        // Nobody lost: settlement refunds, no rake.
        var odds = LiveOdds.Resolved([new(A, new Money(200)), new(B, new Money(300)), new(C, Money.Zero)], [A, B], rakeBasisPoints: 500);

        Assert.Equal([1m, 1m, null], odds.Select(o => o.ReturnPerUnit));
    }

    [Fact]
    public void Potential_payout_counts_the_new_stake_in_the_pool_and_on_its_outcome()
    {
        // A 3000, B 1000; 1000 more on B: T = 5000, rake = floor(5000 * 0.05) = 250, net = 4750, W = 2000.
        // 1000 * 4750 / 2000 = 2375.
        OutcomeStake[] stakes = [new(A, new Money(3000)), new(B, new Money(1000))];

        Assert.Equal(new Money(2375), LiveOdds.PotentialPayout(stakes, rakeBasisPoints: 500, B, new Money(1000)));
    }

    [Fact]
    public void The_first_stake_on_an_outcome_would_take_the_whole_net_pool()
    {
        // C is absent from the list, so it holds 0. 500 on C: T = 4500, rake = floor(4500 * 0.05) = 225, W = 500: 500 * 4275 / 500 = 4275.
        OutcomeStake[] stakes = [new(A, new Money(3000)), new(B, new Money(1000))];

        Assert.Equal(new Money(4275), LiveOdds.PotentialPayout(stakes, rakeBasisPoints: 500, C, new Money(500)));
    }

    [Fact]
    public void Potential_payout_on_the_only_backed_outcome_is_the_stake_back()
    {
        OutcomeStake[] stakes = [new(A, new Money(3000)), new(B, Money.Zero)];

        Assert.Equal(new Money(700), LiveOdds.PotentialPayout(stakes, rakeBasisPoints: 500, A, new Money(700)));
    }

    [Fact]
    public void Potential_payout_is_what_settlement_would_pay_if_that_outcome_won_now()
    {
        var outcomes = new[] { A, B, C };
        var pools = Gen.Select(
            Gen.Select(Gen.Int[0, 2], Gen.Long[1, 1_000_000]).Array[0, 30],
            Gen.Int[0, 2],
            Gen.Long[1, 1_000_000],
            Gen.Int[0, 5000]);

        pools.Sample((bets, outcome, stake, rake) =>
        {
            PoolBet[] placed = [.. bets.Select(b => new PoolBet(Guid.NewGuid(), Guid.NewGuid(), outcomes[b.Item1], new Money(b.Item2)))];
            OutcomeStake[] stakes = [.. outcomes.Select(o => new OutcomeStake(o, new Money(placed.Where(b => b.OutcomeId == o).Sum(b => b.Stake.MinorUnits))))];
            var hypothetical = new PoolBet(Guid.NewGuid(), Guid.NewGuid(), outcomes[outcome], new Money(stake));

            var plan = ParimutuelCalculator.Settle([.. placed, hypothetical], [outcomes[outcome]], rake);

            Assert.Equal(plan.Bets[^1].Payout, LiveOdds.PotentialPayout(stakes, rake, outcomes[outcome], new Money(stake)));
        }, iter: 2_000);
    }
}
