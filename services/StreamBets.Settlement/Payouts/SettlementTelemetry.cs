using System.Diagnostics;
using System.Diagnostics.Metrics;
using StreamBets.Settlement.Data;

namespace StreamBets.Settlement.Payouts;

/// <summary>Spans and metrics of settlement: one span per settlement run and per chunk; what SREs watch.</summary>
public static class SettlementTelemetry
{
    public const string Name = "StreamBets.Settlement";

    public static readonly ActivitySource Source = new(Name);
    private static readonly Meter Meter = new(Name);

    public static readonly Counter<long> BetsSettled = Meter.CreateCounter<long>(
        "streambets.settlement.bets_settled", unit: "{bet}", description: "Bets recorded as settled (each once), by result (won, lost, refunded).");

    public static readonly Counter<long> PaidMinor = Meter.CreateCounter<long>(
        "streambets.settlement.paid", unit: "{minor_unit}", description: "Money moved out of pool escrows by settlement runs, by reason (payout, refund, rake, breakage).");

    public static readonly Histogram<double> Duration = Meter.CreateHistogram<double>(
        "streambets.settlement.duration", unit: "s", description: "Wall time of one settlement run, by outcome (settled, retry, failed).");

    public static readonly Counter<long> Runs = Meter.CreateCounter<long>(
        "streambets.settlement.runs", unit: "{run}", description: "Settlement runs ended, by outcome (settled, retry, failed) and reason.");

    public static readonly Counter<long> Failures = Meter.CreateCounter<long>(
        "streambets.settlement.failures", unit: "{settlement}", description: "Settlements stopped in 'failed', by reason. Page someone.");

    public static readonly Counter<long> EscrowResidues = Meter.CreateCounter<long>(
        "streambets.settlement.escrow_residues", unit: "{settlement}", description: "Settled pools whose escrow did not end at 0, counted by the run that found it (see the escrow_residue_pools gauge).");

    public static readonly Counter<long> Reconciled = Meter.CreateCounter<long>(
        "streambets.settlement.reconciled", unit: "{settlement}",
        description: "Finished pools the reconciler recorded due because their PoolResolved or PoolCancelled never arrived, by kind (resolved, cancelled), and settled pools whose PoolSettled it wrote again because Pools never applied it (kind settled). Any is an event lost on the bus.");

    private sealed record Backlog(long Waiting, double OldestAgeSeconds, long Failed, long EscrowResiduePools);

    private static Backlog _backlog = new(0, 0, 0, 0);
    private static long _stuckOnLock;

    static SettlementTelemetry()
    {
        Meter.CreateObservableGauge("streambets.settlement.waiting", () => Volatile.Read(ref _backlog).Waiting, unit: "{settlement}",
            description: "Settlements not finished yet (due or running), as last read from settlementdb.");
        Meter.CreateObservableGauge("streambets.settlement.oldest_waiting_age", () => Volatile.Read(ref _backlog).OldestAgeSeconds, unit: "s",
            description: "How long the oldest unfinished settlement has waited. Alert when it grows past minutes: a settlement stuck retrying.");
        Meter.CreateObservableGauge("streambets.settlement.failed", () => Volatile.Read(ref _backlog).Failed, unit: "{settlement}",
            description: "Settlements stopped in 'failed' until an operator requeues them, as last read from settlementdb. Alert when above 0.");
        Meter.CreateObservableGauge("streambets.settlement.escrow_residue_pools", () => Volatile.Read(ref _backlog).EscrowResiduePools, unit: "{settlement}",
            description: "Settled pools whose escrow did not end at 0, as last read from settlementdb (a restart does not reset it). Alert when it rises.");
        Meter.CreateObservableGauge("streambets.settlement.stuck_on_lock", () => Volatile.Read(ref _stuckOnLock), unit: "{settlement}",
            description: "Due settlements without progress for StuckLockThreshold whose run lock a session holds that has been quiet as long: most likely a vanished host's session. Alert when above 0.");
    }

    /// <summary>What <see cref="SettlementBacklog"/> last read; the gauges report it.</summary>
    public static void ReportBacklog(SettlementBacklogCounts counts, TimeSpan oldestAge) =>
        Volatile.Write(ref _backlog, new Backlog(counts.Waiting, Math.Max(0, oldestAge.TotalSeconds), counts.Failed, counts.EscrowResiduePools));

    /// <summary>How many settlements <see cref="SettlementBacklog"/> last found stuck on their run lock (read apart from the counts, so its failure does not freeze them).</summary>
    public static void ReportStuckOnLock(long stuck) => Volatile.Write(ref _stuckOnLock, stuck);
}
