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
    public void The_odds_bar_width_is_the_outcome_share_of_the_pool()
    {
        Assert.Equal(33.3, PayoutEstimate.SharePercent(300, 100));
        Assert.Equal(0, PayoutEstimate.SharePercent(0, 0));
    }
}
