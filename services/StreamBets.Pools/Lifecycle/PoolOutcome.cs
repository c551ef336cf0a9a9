namespace StreamBets.Pools.Lifecycle;

/// <summary>One answer to a pool's question that viewers can back.</summary>
public sealed record PoolOutcome(Guid Id, string Label);
