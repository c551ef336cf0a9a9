using Microsoft.Extensions.Time.Testing;
using StreamBets.Contracts;
using StreamBets.Pools.Lifecycle;
using static StreamBets.Pools.Tests.Lifecycle.PoolFixtures;

namespace StreamBets.Pools.Tests.Lifecycle;

public class BetAcceptanceTests
{
    private readonly FakeTimeProvider clock = Clock();

    [Fact]
    public void A_bet_within_the_window_and_the_stake_limits_is_accepted()
    {
        var pool = Opened(clock);
        clock.Advance(Window - TimeSpan.FromTicks(1));

        Assert.Null(pool.CheckBet(null, pool.Outcomes[1].Id, new Money(500), clock.GetUtcNow()));
    }

    [Fact]
    public void A_bet_at_the_lock_time_is_refused_before_the_lock_is_applied()
    {
        var pool = Opened(clock);
        clock.Advance(Window);

        var rejection = pool.CheckBet(null, pool.Outcomes[0].Id, new Money(500), clock.GetUtcNow());

        Assert.Equal(PoolErrorCodes.PoolLocked, rejection?.Code);
        Assert.Equal(PoolState.Open, pool.State);
    }

    [Fact]
    public void A_bet_on_a_locked_pool_is_refused()
    {
        var pool = Locked(clock);

        Assert.Equal(PoolErrorCodes.PoolLocked, pool.CheckBet(null, pool.Outcomes[0].Id, new Money(500), clock.GetUtcNow())?.Code);
    }

    [Theory]
    [InlineData(PoolState.Draft)]
    [InlineData(PoolState.Resolved)]
    [InlineData(PoolState.Cancelled)]
    public void A_bet_on_a_pool_that_is_not_open_is_refused(PoolState state)
    {
        var pool = InState(state, clock);

        Assert.Equal(PoolErrorCodes.PoolNotOpen, pool.CheckBet(null, pool.Outcomes[0].Id, new Money(500), clock.GetUtcNow())?.Code);
    }

    [Fact]
    public void A_bet_on_an_outcome_of_another_pool_is_refused()
    {
        var pool = Opened(clock);

        Assert.Equal(PoolErrorCodes.UnknownOutcome, pool.CheckBet(null, Guid.NewGuid(), new Money(500), clock.GetUtcNow())?.Code);
    }

    [Theory]
    [InlineData(99, false)]
    [InlineData(100, true)]
    [InlineData(100_000, true)]
    [InlineData(100_001, false)]
    public void A_stake_must_lie_within_the_pools_limits(long stake, bool accepted)
    {
        var pool = Opened(clock);

        var rejection = pool.CheckBet(null, pool.Outcomes[0].Id, new Money(stake), clock.GetUtcNow());

        Assert.Equal(accepted ? null : PoolErrorCodes.StakeOutOfRange, rejection?.Code);
    }

    [Fact]
    public void A_player_may_add_to_the_outcome_they_already_backed()
    {
        var pool = Opened(clock);
        var yes = pool.Outcomes[0].Id;

        Assert.Null(pool.CheckBet(yes, yes, new Money(500), clock.GetUtcNow()));
    }

    [Fact]
    public void A_player_may_never_back_a_second_outcome_in_one_pool()
    {
        var pool = Opened(clock);

        var rejection = pool.CheckBet(pool.Outcomes[0].Id, pool.Outcomes[1].Id, new Money(500), clock.GetUtcNow());

        Assert.Equal(PoolErrorCodes.SecondOutcome, rejection?.Code);
    }
}
