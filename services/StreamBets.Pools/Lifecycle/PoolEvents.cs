namespace StreamBets.Pools.Lifecycle;

/// <summary>A fact about a pool, returned by the transition that caused it so the service can put it in its outbox.</summary>
public abstract record PoolEvent(Guid PoolId, DateTimeOffset OccurredAt);

public sealed record PoolOpened(Guid PoolId, DateTimeOffset OccurredAt, DateTimeOffset LocksAt)
    : PoolEvent(PoolId, OccurredAt);

public sealed record PoolLocked(Guid PoolId, DateTimeOffset OccurredAt, LockReason Reason)
    : PoolEvent(PoolId, OccurredAt);

public sealed record PoolResolved(Guid PoolId, DateTimeOffset OccurredAt, IReadOnlyList<Guid> WinningOutcomeIds)
    : PoolEvent(PoolId, OccurredAt);

public sealed record PoolCancelled(Guid PoolId, DateTimeOffset OccurredAt, CancellationReason Reason)
    : PoolEvent(PoolId, OccurredAt);
