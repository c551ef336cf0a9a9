namespace StreamBets.BetEngine;

/// <summary>Settings of the Bet Engine, bound from the "BetEngine" configuration section.</summary>
public sealed class BetEngineOptions
{
    public const string SectionName = "BetEngine";

    /// <summary>Most bets of one pool committed together (one ledger call, two betsdb transactions).</summary>
    public int BatchMaxSize { get; set; } = 500;

    /// <summary>
    /// Most bets of one pool waiting in this process for their batch. A bet beyond it is refused 503 at once (nothing
    /// placed, retry with the same key) rather than queued behind minutes of work its caller will not wait for.
    /// </summary>
    public int MaxQueuedBetsPerPool { get; set; } = 10_000;

    /// <summary>
    /// While the oldest bet waiting in a pool's queue has waited this long, a new bet of the pool is refused 503 at once,
    /// as beyond <see cref="MaxQueuedBetsPerPool"/>. A count says nothing of time: with slow batches (Pools or the ledger
    /// slow) 10,000 bets are many seconds deep, and a bet queued behind them outlasts the Gateway's 8 s answer deadline,
    /// which drops the Gateway's whole relay stream and tells every pool's waiting bets to retry.
    /// </summary>
    public TimeSpan MaxQueueWait { get; set; } = TimeSpan.FromSeconds(4);

    /// <summary>
    /// How long a batch that is not full waits for more bets before it goes. Bets that arrive while the pool's previous
    /// batch is being committed wait for that batch anyway, so under load batches fill without this delay.
    /// </summary>
    public TimeSpan BatchMaxDelay { get; set; } = TimeSpan.FromMilliseconds(2);

    /// <summary>How long a pool snapshot from Pools.GetPool is served; closing events override it at once.</summary>
    public TimeSpan PoolCacheDuration { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a CheckEligibility answer is served per user (and session).</summary>
    public TimeSpan EligibilityCacheDuration { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the recovery loop looks for bets left pending or refunds left due.</summary>
    public TimeSpan RecoveryInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A bet its batch wrote as pending this long ago is taken over by recovery, and a recovery claim this old belongs to a
    /// recoverer that is gone. Longer than a batch runs after its pending write unless betsdb stalls (Pools is read within
    /// 1 s, during the write; at most two ledger calls of a 15 s deadline each; the betsdb steps take milliseconds), and
    /// than recovery's own three calls, so recovery does not take a live batch's or another recoverer's bets while a stake
    /// call of theirs is still in flight. If it does take one, the claim keeps the money exact and the live batch answers
    /// that bet 202 pending (docs/bets.md).
    /// </summary>
    public TimeSpan RecoveryGracePeriod { get; set; } = TimeSpan.FromSeconds(50);

    /// <summary>
    /// How often the recovery backlog (pending batches, refunds due) is read from betsdb for its gauges
    /// (<see cref="Placement.RecoveryBacklogGauges"/>); a scrape reads the last sample, never betsdb.
    /// </summary>
    public TimeSpan BacklogSampleInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How often the one-outcome rows of finished pools are deleted (<see cref="Data.FinishedPoolOutcomesCleanup"/>).</summary>
    public TimeSpan FinishedPoolOutcomesCleanupInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// How long after a pool finished its one-outcome rows are kept. Far longer than a pending write or finalize that read
    /// the pool unfinished as it finished can take (milliseconds; seconds when betsdb stalls).
    /// </summary>
    public TimeSpan FinishedPoolOutcomesKeptFor { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Shortest time between two OddsChanged events of one pool (250 ms = at most 4 per second).</summary>
    public TimeSpan OddsInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>A pool's batcher with no bets for this long stops (and starts again with the next bet).</summary>
    public TimeSpan BatcherIdleTimeout { get; set; } = TimeSpan.FromMinutes(1);
}
