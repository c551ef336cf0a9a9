namespace StreamBets.Settlement;

/// <summary>Settings of the Settlement service, bound from the "Settlement" configuration section.</summary>
public sealed class SettlementOptions
{
    public const string SectionName = "Settlement";

    /// <summary>Bets per chunk read from the Bet Engine and sent to Pools (1 to 10,000, the limit of both; clamped to it).</summary>
    public int BetsPerChunk { get; set; } = 10_000;

    /// <summary>Bets paid by one Wallet.TransferBatch and recorded by one settlementdb transaction (1 to 10,000).</summary>
    public int BetsPerPayment { get; set; } = 5_000;

    /// <summary>Chunks sent to Pools and not yet paid; bounds memory and keeps Pools busy while the ledger works.</summary>
    public int ChunksInFlight { get; set; } = 4;

    /// <summary>Payments (TransferBatch + record) of one settlement running at once.</summary>
    public int PaymentConcurrency { get; set; } = 2;

    /// <summary>Settlements this replica runs at once (each pool is run by one replica at a time).</summary>
    public int MaxConcurrentSettlements { get; set; } = 2;

    /// <summary>How often idle workers look for due settlements (recorded by another replica, or due for a retry).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>First wait after a transient failure (a dependency down, bets still pending); doubles per attempt.</summary>
    public TimeSpan RetryInitialDelay { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Deadline of one Wallet call.</summary>
    public TimeSpan PaymentTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Longest wait for the next message of the Bet Engine's or Pools' stream. The streams have no deadline (a big pool
    /// streams for minutes), so without it a peer host that vanished without closing its connection held the run, and
    /// the pool's lock, forever.
    /// </summary>
    public TimeSpan StreamIdleTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a due settlement may go without progress, while a session that has been quiet as long holds its run lock,
    /// before last_error and the <c>stuck_on_lock</c> gauge say so. A healthy run records progress with every payment
    /// slice; a vanished host's session keeps the lock until PostgreSQL's TCP keepalive gives up (about 2 h by Linux defaults).
    /// </summary>
    public TimeSpan StuckLockThreshold { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How often the <c>SettlementReconciler</c> asks Pools for finished pools that are not paid out.</summary>
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long ago a pool must have finished before the reconciler records it due: long enough for its PoolResolved or
    /// PoolCancelled to arrive first (through an outbox relay or a consumer catching up), so it heals only what was lost.
    /// </summary>
    public TimeSpan ReconcileMinimumAge { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Pools the reconciler reads per round (1 to 1,000, the most Pools answers); the next round goes on from there.</summary>
    public int ReconcileBatchSize { get; set; } = 500;
}
