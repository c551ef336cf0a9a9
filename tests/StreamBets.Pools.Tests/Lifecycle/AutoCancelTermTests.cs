using StreamBets.Contracts;
using StreamBets.Pools.Lifecycle;
using static StreamBets.Pools.Tests.Lifecycle.PoolFixtures;

namespace StreamBets.Pools.Tests.Lifecycle;

/// <summary>A pool's auto-cancel term is fixed when it is created, like its rake: a later change of the setting leaves it be.</summary>
public sealed class AutoCancelTermTests
{
    private readonly Microsoft.Extensions.Time.Testing.FakeTimeProvider _clock = Clock();

    [Fact]
    public void A_locked_pool_waits_out_its_own_term_whatever_the_setting_is_now()
    {
        var pool = Pool.Create(Guid.NewGuid(), Definition() with { AutoCancelAfter = TimeSpan.FromHours(72) }).Value!;
        pool.Open(_clock.GetUtcNow());
        pool.Lock(_clock.GetUtcNow());

        _clock.Advance(TimeSpan.FromHours(30));
        Assert.Null(pool.CancelIfAbandoned(_clock.GetUtcNow(), termIfNone: TimeSpan.FromHours(24)));

        _clock.Advance(TimeSpan.FromHours(42));
        Assert.NotNull(pool.CancelIfAbandoned(_clock.GetUtcNow(), termIfNone: TimeSpan.FromHours(24)));
        Assert.Equal(CancellationReason.Abandoned, pool.CancellationReason);
    }

    [Fact]
    public void A_pool_keeps_its_term_through_the_store_and_cancels_at_its_own_deadline()
    {
        var pool = Locked(_clock);

        var stored = Pool.Rehydrate(pool.ToMemento());

        Assert.Equal(Pool.AbandonedAfter, stored.AutoCancelAfter);
        Assert.Equal(_clock.GetUtcNow() + Pool.AbandonedAfter, stored.AbandonsAt);
    }

    [Fact]
    public void A_pool_locked_late_gets_its_whole_term_from_when_the_lock_was_recorded_and_stays_dated_at_the_window_end()
    {
        var pool = Pool.Create(Guid.NewGuid(), Definition() with { BettingWindow = TimeSpan.FromSeconds(30), AutoCancelAfter = TimeSpan.FromHours(1) }).Value!;
        pool.Open(_clock.GetUtcNow());
        _clock.Advance(TimeSpan.FromHours(2)); // Pools was down: nothing locked it at the window's end

        var locked = pool.LockIfDue(_clock.GetUtcNow());
        var stored = Pool.Rehydrate(pool.ToMemento());

        Assert.Equal(pool.LocksAt, locked?.OccurredAt);
        Assert.Equal(pool.LocksAt, stored.LockedAt);
        Assert.Equal(_clock.GetUtcNow() + TimeSpan.FromHours(1), stored.AbandonsAt);
        Assert.Null(stored.CancelIfAbandoned(_clock.GetUtcNow(), termIfNone: null));

        _clock.Advance(TimeSpan.FromMinutes(59));
        Assert.Null(stored.CancelIfAbandoned(_clock.GetUtcNow(), termIfNone: null));

        _clock.Advance(TimeSpan.FromMinutes(1));
        Assert.NotNull(stored.CancelIfAbandoned(_clock.GetUtcNow(), termIfNone: null));
        Assert.Equal(CancellationReason.Abandoned, stored.CancellationReason);
    }

    [Fact]
    public void A_pool_stored_before_pools_kept_a_term_follows_the_setting()
    {
        var pool = Pool.Rehydrate(Locked(_clock).ToMemento() with { AutoCancelAfter = null, AbandonsAt = null });

        _clock.Advance(TimeSpan.FromHours(2));

        Assert.Null(pool.AbandonsAt);
        Assert.NotNull(pool.CancelIfAbandoned(_clock.GetUtcNow(), termIfNone: TimeSpan.FromHours(2)));
    }

    [Fact]
    public void A_pool_locked_by_a_replica_that_wrote_no_deadline_cancels_its_own_term_after_its_lock_time()
    {
        var pool = Pool.Rehydrate(Locked(_clock).ToMemento() with { AbandonsAt = null });

        _clock.Advance(Pool.AbandonedAfter - TimeSpan.FromSeconds(1));
        Assert.Null(pool.CancelIfAbandoned(_clock.GetUtcNow(), termIfNone: TimeSpan.FromHours(1)));

        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.NotNull(pool.CancelIfAbandoned(_clock.GetUtcNow(), termIfNone: TimeSpan.FromHours(1)));
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(1, true)]
    [InlineData(168, true)]
    [InlineData(169, false)]
    public void The_term_is_1_to_168_hours(int hours, bool valid)
    {
        var result = Pool.Create(Guid.NewGuid(), Definition() with { AutoCancelAfter = TimeSpan.FromHours(hours) });

        Assert.Equal(valid, result.IsSuccess);
        if (!valid)
        {
            Assert.Equal(["autoCancelAfter"], result.Error!.FieldErrors.Keys);
        }
    }
}
