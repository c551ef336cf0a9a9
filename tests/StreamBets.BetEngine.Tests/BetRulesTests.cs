using StreamBets.BetEngine.Placement;
using StreamBets.BetEngine.Pools;

namespace StreamBets.BetEngine.Tests;

public sealed class BetRulesTests
{
    private static readonly DateTimeOffset Now = new(2026, 5, 1, 20, 0, 0, TimeSpan.Zero);
    private static readonly Guid Yes = Guid.NewGuid();
    private static readonly Guid No = Guid.NewGuid();

    private static PoolSnapshot Pool(PoolState state = PoolState.Open, DateTimeOffset? locksAt = null) =>
        new(Guid.NewGuid(), state, new HashSet<Guid> { Yes, No }, 100, 10_000, locksAt ?? Now.AddMinutes(1), 1);

    private static PlaceBetCommand Bet(PoolSnapshot pool, Guid? outcome = null, long stake = 500) =>
        new(Guid.NewGuid(), pool.PoolId, outcome ?? Yes, stake, "key");

    [Fact]
    public void A_bet_within_the_rules_passes()
    {
        var pool = Pool();
        Assert.Null(BetRules.Check(Bet(pool), pool, Now));
    }

    [Theory]
    [InlineData(PoolState.Draft, BetRejectionCodes.PoolNotOpen)]
    [InlineData(PoolState.Locked, BetRejectionCodes.PoolLocked)]
    [InlineData(PoolState.Resolved, BetRejectionCodes.PoolNotOpen)]
    [InlineData(PoolState.Cancelled, BetRejectionCodes.PoolNotOpen)]
    public void Only_an_open_pool_takes_bets(PoolState state, string code)
    {
        var pool = Pool(state);
        Assert.Equal(code, BetRules.Check(Bet(pool), pool, Now)?.Code);
    }

    [Fact]
    public void The_lock_time_closes_betting_even_while_the_pool_still_says_open()
    {
        var pool = Pool(locksAt: Now);
        Assert.Equal(BetRejectionCodes.PoolLocked, BetRules.Check(Bet(pool), pool, Now)?.Code);
        Assert.Null(BetRules.Check(Bet(pool), pool, Now.AddTicks(-10)));
    }

    [Fact]
    public void A_lock_by_hand_closes_betting_at_its_own_time_though_the_window_runs_on()
    {
        var pool = Pool(PoolState.Locked, locksAt: Now.AddMinutes(10)) with { LockedAt = Now };
        Assert.Equal(BetRejectionCodes.PoolLocked, BetRules.Closed(pool, Now)?.Code);
        Assert.Null(BetRules.Closed(pool, Now.AddTicks(-10))); // it arrived before the lock: it stands
    }

    [Fact]
    public void An_outcome_of_another_pool_is_unknown()
    {
        var pool = Pool();
        Assert.Equal(BetRejectionCodes.UnknownOutcome, BetRules.Check(Bet(pool, Guid.NewGuid()), pool, Now)?.Code);
    }

    [Theory]
    [InlineData(99, BetRejectionCodes.StakeOutOfRange)]
    [InlineData(100, null)]
    [InlineData(10_000, null)]
    [InlineData(10_001, BetRejectionCodes.StakeOutOfRange)]
    public void Stakes_are_limited_by_the_pool_inclusively(long stake, string? code)
    {
        var pool = Pool();
        Assert.Equal(code, BetRules.Check(Bet(pool, stake: stake), pool, Now)?.Code);
    }

    [Fact]
    public void Transfer_ids_derive_from_the_bet_so_a_replay_carries_the_same_ids()
    {
        var betId = Guid.NewGuid();
        Assert.Equal(BetTransferIds.Stake(betId), BetTransferIds.Stake(betId));
        Assert.NotEqual(BetTransferIds.Stake(betId), BetTransferIds.Refund(betId));
        Assert.NotEqual(BetTransferIds.Stake(betId), BetTransferIds.Stake(Guid.NewGuid()));
    }
}
