namespace StreamBets.Pools.Lifecycle;

/// <summary>Draft → Open → Locked → Resolved, with Cancelled reachable from Open and Locked.</summary>
public enum PoolState
{
    Draft,
    Open,
    Locked,
    Resolved,
    Cancelled,
}

public enum LockReason
{
    /// <summary>The streamer or an operator locked it before the window ended.</summary>
    Manual,

    /// <summary>The betting window ran out.</summary>
    WindowEnded,
}

public enum CancellationReason
{
    /// <summary>The streamer or an operator cancelled it.</summary>
    Manual,

    /// <summary>It stayed locked without a resolution for its auto-cancel term (<see cref="Pool.AutoCancelAfter"/>).</summary>
    Abandoned,
}
