using Microsoft.Extensions.Time.Testing;
using StreamBets.Contracts;
using StreamBets.Pools.Lifecycle;

namespace StreamBets.Pools.Tests.Lifecycle;

internal static class PoolFixtures
{
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(5);

    public static PoolDefinition Definition() =>
        new("Will I win this round?", ["Yes", "No", "Draw"], Window, new Money(100), new Money(100_000), RakeBasisPoints: 500);

    public static FakeTimeProvider Clock() => new(new DateTimeOffset(2026, 3, 14, 20, 0, 0, TimeSpan.Zero));

    public static Pool Draft() => Pool.Create(Guid.NewGuid(), Definition()).Value!;

    public static Pool Opened(TimeProvider clock)
    {
        var pool = Draft();
        Assert.True(pool.Open(clock.GetUtcNow()).IsSuccess);
        return pool;
    }

    public static Pool Locked(TimeProvider clock)
    {
        var pool = Opened(clock);
        Assert.True(pool.Lock(clock.GetUtcNow()).IsSuccess);
        return pool;
    }

    public static Pool Resolved(TimeProvider clock)
    {
        var pool = Locked(clock);
        Assert.True(pool.Resolve([pool.Outcomes[0].Id], clock.GetUtcNow()).IsSuccess);
        return pool;
    }

    public static Pool Cancelled(TimeProvider clock)
    {
        var pool = Opened(clock);
        Assert.True(pool.Cancel(clock.GetUtcNow()).IsSuccess);
        return pool;
    }

    public static Pool InState(PoolState state, TimeProvider clock) => state switch
    {
        PoolState.Draft => Draft(),
        PoolState.Open => Opened(clock),
        PoolState.Locked => Locked(clock),
        PoolState.Resolved => Resolved(clock),
        PoolState.Cancelled => Cancelled(clock),
        _ => throw new ArgumentOutOfRangeException(nameof(state)),
    };
}
