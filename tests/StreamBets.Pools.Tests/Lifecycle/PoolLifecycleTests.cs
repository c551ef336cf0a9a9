using Microsoft.Extensions.Time.Testing;
using StreamBets.Contracts;
using StreamBets.Pools.Lifecycle;
using StreamBets.Pools.Payouts;
using static StreamBets.Pools.Tests.Lifecycle.PoolFixtures;

namespace StreamBets.Pools.Tests.Lifecycle;

public class PoolLifecycleTests
{
    private readonly FakeTimeProvider clock = Clock();

    [Fact]
    public void A_new_pool_waits_in_draft_until_opened()
    {
        var pool = Draft();

        Assert.Equal(PoolState.Draft, pool.State);
        Assert.Null(pool.OpenedAt);
    }

    [Fact]
    public void Opening_sets_the_lock_time_one_window_ahead()
    {
        var pool = Draft();
        var opened = clock.GetUtcNow();

        var result = pool.Open(opened);

        Assert.Equal(new PoolOpened(pool.Id, opened, opened + Window), result.Value);
        Assert.Equal(PoolState.Open, pool.State);
        Assert.Equal(opened, pool.OpenedAt);
        Assert.Equal(opened + Window, pool.LocksAt);
    }

    [Fact]
    public void A_pool_locks_itself_when_the_window_ends()
    {
        var pool = Opened(clock);

        clock.Advance(Window - TimeSpan.FromTicks(1));
        Assert.Null(pool.LockIfDue(clock.GetUtcNow()));
        Assert.Equal(PoolState.Open, pool.State);

        clock.Advance(TimeSpan.FromTicks(1));
        var locked = pool.LockIfDue(clock.GetUtcNow());

        Assert.Equal(new PoolLocked(pool.Id, pool.LocksAt!.Value, LockReason.WindowEnded), locked);
        Assert.Equal(PoolState.Locked, pool.State);
    }

    [Fact]
    public void A_late_sweep_dates_the_lock_at_the_window_end_when_betting_really_closed()
    {
        var pool = Opened(clock);

        clock.Advance(Window + TimeSpan.FromMinutes(3));
        var locked = pool.LockIfDue(clock.GetUtcNow());

        Assert.Equal(pool.LocksAt, locked?.OccurredAt);
        Assert.Equal(pool.LocksAt, pool.LockedAt);
    }

    [Fact]
    public void Locking_by_hand_closes_betting_before_the_window_ends()
    {
        var pool = Opened(clock);
        clock.Advance(TimeSpan.FromMinutes(1));

        var result = pool.Lock(clock.GetUtcNow());

        Assert.Equal(new PoolLocked(pool.Id, clock.GetUtcNow(), LockReason.Manual), result.Value);
        Assert.Equal(clock.GetUtcNow(), pool.LockedAt);
        Assert.Null(pool.LockIfDue(clock.GetUtcNow() + Window));
    }

    [Fact]
    public void A_locked_pool_left_unresolved_for_24_hours_is_cancelled()
    {
        var pool = Locked(clock);

        clock.Advance(Pool.AbandonedAfter - TimeSpan.FromTicks(1));
        Assert.Null(pool.CancelIfAbandoned(clock.GetUtcNow()));

        clock.Advance(TimeSpan.FromTicks(1));
        var cancelled = pool.CancelIfAbandoned(clock.GetUtcNow());

        Assert.Equal(new PoolCancelled(pool.Id, clock.GetUtcNow(), CancellationReason.Abandoned), cancelled);
        Assert.Equal(PoolState.Cancelled, pool.State);
        Assert.Equal(CancellationReason.Abandoned, pool.CancellationReason);
    }

    [Theory]
    [InlineData(PoolState.Open)]
    [InlineData(PoolState.Resolved)]
    public void Only_a_locked_pool_is_ever_abandoned(PoolState state)
    {
        var pool = InState(state, clock);

        clock.Advance(TimeSpan.FromDays(30));

        Assert.Null(pool.CancelIfAbandoned(clock.GetUtcNow()));
        Assert.Equal(state, pool.State);
    }

    [Fact]
    public void Resolving_records_the_winning_outcomes_of_a_dead_heat_once_each()
    {
        var pool = Locked(clock);
        var (yes, no) = (pool.Outcomes[0].Id, pool.Outcomes[1].Id);
        clock.Advance(TimeSpan.FromMinutes(10));

        var result = pool.Resolve([yes, no, yes], clock.GetUtcNow());

        Assert.True(result.IsSuccess);
        Assert.Equal([yes, no], result.Value.WinningOutcomeIds);
        Assert.Equal([yes, no], pool.WinningOutcomeIds);
        Assert.Equal(PoolState.Resolved, pool.State);
        Assert.Equal(clock.GetUtcNow(), pool.ClosedAt);
    }

    [Fact]
    public void Resolving_with_an_outcome_of_another_pool_is_refused_and_changes_nothing()
    {
        var pool = Locked(clock);

        var result = pool.Resolve([pool.Outcomes[0].Id, Guid.NewGuid()], clock.GetUtcNow());

        Assert.Equal(PoolErrorCodes.UnknownOutcome, result.Error?.Code);
        Assert.Equal(PoolState.Locked, pool.State);
        Assert.Empty(pool.WinningOutcomeIds);
    }

    [Fact]
    public void Resolving_without_a_winner_is_refused()
    {
        var pool = Locked(clock);

        Assert.Equal(PoolErrorCodes.WinnerRequired, pool.Resolve([], clock.GetUtcNow()).Error?.Code);
    }

    [Theory]
    [InlineData(PoolState.Draft)]
    [InlineData(PoolState.Open)]
    [InlineData(PoolState.Resolved)]
    [InlineData(PoolState.Cancelled)]
    public void Only_a_locked_pool_can_be_resolved(PoolState state)
    {
        var pool = InState(state, clock);

        var result = pool.Resolve([pool.Outcomes[0].Id], clock.GetUtcNow());

        Assert.Equal(PoolErrorCodes.InvalidTransition, result.Error?.Code);
        Assert.Equal(state, pool.State);
    }

    [Theory]
    [InlineData(PoolState.Open)]
    [InlineData(PoolState.Locked)]
    public void An_open_or_locked_pool_can_be_cancelled(PoolState state)
    {
        var pool = InState(state, clock);

        var result = pool.Cancel(clock.GetUtcNow());

        Assert.Equal(new PoolCancelled(pool.Id, clock.GetUtcNow(), CancellationReason.Manual), result.Value);
        Assert.Equal(PoolState.Cancelled, pool.State);
    }

    [Theory]
    [InlineData(PoolState.Draft)]
    [InlineData(PoolState.Resolved)]
    [InlineData(PoolState.Cancelled)]
    public void A_draft_or_finished_pool_cannot_be_cancelled(PoolState state)
    {
        var pool = InState(state, clock);

        Assert.Equal(PoolErrorCodes.InvalidTransition, pool.Cancel(clock.GetUtcNow()).Error?.Code);
        Assert.Equal(state, pool.State);
    }

    [Theory]
    [InlineData(PoolState.Open)]
    [InlineData(PoolState.Locked)]
    [InlineData(PoolState.Resolved)]
    [InlineData(PoolState.Cancelled)]
    public void A_pool_opens_only_once(PoolState state)
    {
        var pool = InState(state, clock);

        Assert.Equal(PoolErrorCodes.InvalidTransition, pool.Open(clock.GetUtcNow()).Error?.Code);
    }

    [Theory]
    [InlineData(PoolState.Draft)]
    [InlineData(PoolState.Locked)]
    [InlineData(PoolState.Resolved)]
    [InlineData(PoolState.Cancelled)]
    public void Only_an_open_pool_can_be_locked(PoolState state)
    {
        var pool = InState(state, clock);

        Assert.Equal(PoolErrorCodes.PoolNotOpen, pool.Lock(clock.GetUtcNow()).Error?.Code);
        Assert.Null(pool.LockIfDue(clock.GetUtcNow() + Window));
        Assert.Equal(state, pool.State);
    }

    [Fact]
    public void A_resolved_pool_settles_with_its_winners_and_rake()
    {
        var pool = Resolved(clock);
        var (yes, no) = (pool.Outcomes[0].Id, pool.Outcomes[1].Id);
        // T = 1000 + 3000 = 4000; rake 5 % = 200; the 1000 on Yes wins the net 3800.
        PoolBet[] bets = [new(Guid.NewGuid(), Guid.NewGuid(), yes, new Money(1000)), new(Guid.NewGuid(), Guid.NewGuid(), no, new Money(3000))];

        var plan = pool.Settle(bets).Value!;

        Assert.Equal(SettlementBasis.Parimutuel, plan.Basis);
        Assert.Equal([new Money(3800), Money.Zero], plan.Bets.Select(line => line.Payout));
        Assert.Equal(new Money(200), plan.Rake);
    }

    [Fact]
    public void A_cancelled_pool_settles_as_full_refunds()
    {
        var pool = Cancelled(clock);
        PoolBet[] bets = [new(Guid.NewGuid(), Guid.NewGuid(), pool.Outcomes[0].Id, new Money(1000))];

        var plan = pool.Settle(bets).Value!;

        Assert.Equal(SettlementBasis.Cancelled, plan.Basis);
        Assert.Equal(new Money(1000), plan.Bets[0].Payout);
    }

    [Theory]
    [InlineData(PoolState.Draft)]
    [InlineData(PoolState.Open)]
    [InlineData(PoolState.Locked)]
    public void An_undecided_pool_cannot_be_settled(PoolState state)
    {
        var pool = InState(state, clock);

        Assert.Equal(PoolErrorCodes.InvalidTransition, pool.Settle([]).Error?.Code);
    }
}
