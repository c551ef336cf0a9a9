namespace StreamBets.BetEngine.Pools;

public enum PoolState
{
    Draft,
    Open,
    Locked,
    Resolved,
    Cancelled,
}

/// <summary>A pool as a bet must see it, from Pools.GetPool.</summary>
public sealed record PoolSnapshot(
    Guid PoolId,
    PoolState State,
    IReadOnlySet<Guid> OutcomeIds,
    long MinStakeMinor,
    long MaxStakeMinor,
    DateTimeOffset? LocksAt,
    long Version,
    DateTimeOffset? LockedAt = null)
{
    /// <summary>When betting closed or will close: the lock itself once there was one (a lock by hand comes before
    /// <see cref="LocksAt"/>), else the end of the betting window.</summary>
    public DateTimeOffset? BettingClosesAt => LockedAt ?? LocksAt;

    /// <summary>Locked, resolved and cancelled pools never open again.</summary>
    public bool IsClosed => State is PoolState.Locked or PoolState.Resolved or PoolState.Cancelled;

    /// <summary>Resolved or cancelled: settlement may already have emptied the escrow, so no stake may enter it now.</summary>
    public bool IsFinished => State is PoolState.Resolved or PoolState.Cancelled;
}
