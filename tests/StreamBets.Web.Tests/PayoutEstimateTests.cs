using StreamBets.Web.Betting;

namespace StreamBets.Web.Tests;

/// <summary>The estimate shown before a bet follows the settlement rule: payout = floor(s × (T − floor(T × r)) / W).</summary>
public sealed class PayoutEstimateTests
{
    [Fact]
    public void A_new_stake_joins_the_pool_total_and_its_outcome_before_the_share_is_taken()
    {
        // 60 on Yes, 40 on No, 5 % rake; 10 more on Yes: T = 110.00, rake 5.50, net 104.50, W = 70.00 → 10 × 104.50 / 70 = 14.928… → 14.92.
        Assert.Equal(14_92, PayoutEstimate.PotentialPayoutMinor(100_00, 60_00, 10_00, 500));
    }

    [Fact]
    public void Payouts_are_floored_to_the_centavo()
    {
        // T = 1000 + 333 = 1333, rake floor(66.65) = 66, net 1267, W = 333 + 333 = 666 → 333 × 1267 / 666 = 633.5 → 633.
        Assert.Equal(633, PayoutEstimate.PotentialPayoutMinor(1_000, 333, 333, 500));
    }

    [Fact]
    public void Backing_the_only_outcome_with_stakes_is_a_refund_without_rake()
    {
        Assert.Equal(25_00, PayoutEstimate.PotentialPayoutMinor(0, 0, 25_00, 500));
        Assert.Equal(25_00, PayoutEstimate.PotentialPayoutMinor(50_00, 50_00, 25_00, 500));
    }

    [Fact]
    public void An_outcome_nobody_else_backed_takes_the_whole_net_pool()
    {
        // 90 on No; 10 on Yes: T = 100, rake 5, net 95, W = 10 → 95.
        Assert.Equal(95_00, PayoutEstimate.PotentialPayoutMinor(90_00, 0, 10_00, 500));
    }

    [Fact]
    public void No_stake_pays_nothing()
    {
        Assert.Equal(0, PayoutEstimate.PotentialPayoutMinor(100_00, 50_00, 0, 500));
    }

    [Fact]
    public void Huge_pools_do_not_overflow()
    {
        Assert.Equal(1_900_000_000_000_000, PayoutEstimate.PotentialPayoutMinor(1_000_000_000_000_000, 0, 1_000_000_000_000_000, 500));
    }

    [Fact]
    public void Odds_are_the_net_pool_per_unit_on_the_outcome()
    {
        Assert.Equal(1.9m, PayoutEstimate.ReturnPerUnit(100_00, 50_00, 500));
        Assert.Equal(1m, PayoutEstimate.ReturnPerUnit(100_00, 100_00, 500));
        Assert.Null(PayoutEstimate.ReturnPerUnit(100_00, 0, 500));
    }

    [Fact]
    public void A_favourite_whose_losers_hold_less_than_the_rake_shows_its_stake_back_as_settlement_pays_it()
    {
        // 99 on the favourite, 1 against: the rake (5 of 100) takes at most the 1 the losers staked.
        Assert.Equal(1m, PayoutEstimate.ReturnPerUnit(100_00, 99_00, 500));
        Assert.Equal(10_00, PayoutEstimate.PotentialPayoutMinor(100_00, 99_00, 10_00, 500));
    }

    [Fact]
    public void A_bet_the_pools_totals_may_not_count_yet_is_never_estimated_above_what_settlement_pays()
    {
        // 100 on A, and Pools' read says 1,000 in all with 400 on A, whether or not it has counted the bet yet. If it has
        // not, settlement pays for 1,100 with 500 on A: rake 55, net 1,045, so 100 × 1,045 / 500 = 209 (not 237.50).
        Assert.Equal(209_00, PayoutEstimate.ExistingStakePayoutMinor(1_000_00, 400_00, 100_00, 500));
        // Once counted, the read says 1,100 with 500 on A, which could as well be a read still missing the 100: the
        // estimate stays below the 209 paid (1,200 with 600 on A: net 1,140, 100 × 1,140 / 600 = 190).
        Assert.Equal(190_00, PayoutEstimate.ExistingStakePayoutMinor(1_100_00, 500_00, 100_00, 500));
    }

    [Fact]
    public void An_outcome_holding_less_than_the_players_stake_has_not_counted_it()
    {
        // 50 on A cannot hold the player's 100: 1,100 with 150 on A, rake 55, net 1,045 → 100 × 1,045 / 150 = 696.666… → 696.66.
        Assert.Equal(696_66, PayoutEstimate.ExistingStakePayoutMinor(1_000_00, 50_00, 100_00, 500));
    }

    [Fact]
    public void A_resolved_pool_pays_its_winners_together_and_its_losers_nothing()
    {
        // 20, 30 and 50 at 5 %: one winner returns 95 / 20; in a dead heat the winners share 95 over their 50.
        Assert.Equal(4.75m, PayoutEstimate.ResolvedReturnPerUnit(100_00, 20_00, 20_00, won: true, 500));
        Assert.Equal(1.9m, PayoutEstimate.ResolvedReturnPerUnit(100_00, 50_00, 30_00, won: true, 500));
        Assert.Null(PayoutEstimate.ResolvedReturnPerUnit(100_00, 50_00, 50_00, won: false, 500));
        // Nobody backed the winner, or nobody backed a loser: every stake comes back.
        Assert.Equal(1m, PayoutEstimate.ResolvedReturnPerUnit(100_00, 0, 50_00, won: false, 500));
        Assert.Equal(1m, PayoutEstimate.ResolvedReturnPerUnit(100_00, 100_00, 100_00, won: true, 500));
        Assert.Null(PayoutEstimate.ResolvedReturnPerUnit(100_00, 0, 0, won: true, 500));
    }

    [Fact]
    public void The_odds_bar_width_is_the_outcome_share_of_the_pool()
    {
        Assert.Equal(33.3, PayoutEstimate.SharePercent(300, 100));
        Assert.Equal(0, PayoutEstimate.SharePercent(0, 0));
    }
}
