using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using StreamBets.BetEngine.Data;

namespace StreamBets.BetEngine.Placement;

/// <summary>
/// The money recovery still holds, as gauges: bets left pending in <c>pending_batches</c> (stakes that may have moved,
/// bets not decided) and refunds due (stakes of rejected bets not given back yet), each counted and aged by its oldest.
/// While a pool is open nothing else shows them: health stays Healthy and the decisions counter only counts what is
/// decided. (Settlement's <c>oldest_waiting_age</c> shows them only once a finished pool waits for them.)
/// <para>
/// betsdb is read every <see cref="BetEngineOptions.BacklogSampleInterval"/> (15 s), one round trip, and a scrape reads
/// the last sample: a gauge callback runs on every collection of every exporter and listener (OTLP, Prometheus, a
/// dashboard), so querying betsdb there would multiply its reads by the exporters and tie a scrape's latency to betsdb's.
/// The counts are as of the last sample; the ages are taken at the scrape from the oldest row's time then, so they keep
/// growing while betsdb cannot be read (a failed sample is logged and the last one stays). Nothing is reported before
/// the first sample. Every replica reports the same betsdb-wide figures: alert on the max, not the sum.
/// </para>
/// </summary>
public sealed partial class RecoveryBacklogGauges(
    BetStore store, TimeProvider time, IOptions<BetEngineOptions> options, ILogger<RecoveryBacklogGauges> logger) : BackgroundService
{
    /// <summary>The last sample of this process (one Bet Engine per process; in tests, the last one sampled).</summary>
    private static volatile Sample? _last;

    private sealed record Sample(RecoveryBacklog Backlog, TimeProvider Time);

    private static readonly ObservableGauge<long> PendingBatches = BetBatchPipeline.Meter.CreateObservableGauge(
        "streambets.bets.pending_batches", () => Read(s => s.Backlog.PendingBatches), "{batch}",
        "Batches of bets written pending and not all decided (pending_batches rows), betsdb-wide, as of the last sample (every 15 s).");

    private static readonly ObservableGauge<double> PendingOldestAge = BetBatchPipeline.Meter.CreateObservableGauge(
        "streambets.bets.pending_oldest_age", () => Read(s => Age(s, s.Backlog.OldestPendingWrittenAt)), "s",
        "Seconds since the oldest pending batch was written (0 when none). Recovery takes a batch once it is RecoveryGracePeriod (50 s) old.");

    private static readonly ObservableGauge<long> RefundsDue = BetBatchPipeline.Meter.CreateObservableGauge(
        "streambets.bets.refunds_due", () => Read(s => s.Backlog.RefundsDue), "{refund}",
        "Stakes of rejected bets not given back yet (refund_status 'due'), betsdb-wide, as of the last sample (every 15 s).");

    private static readonly ObservableGauge<double> RefundsDueOldestAge = BetBatchPipeline.Meter.CreateObservableGauge(
        "streambets.bets.refunds_due_oldest_age", () => Read(s => Age(s, s.Backlog.OldestRefundDecidedAt)), "s",
        "Seconds since the oldest bet with its refund due was rejected (0 when none).");

    /// <summary>Reads the backlog and makes it what the gauges report.</summary>
    public async Task<RecoveryBacklog> SampleAsync(CancellationToken cancellationToken)
    {
        var backlog = await store.ReadRecoveryBacklogAsync(cancellationToken);
        _last = new Sample(backlog, time);
        return backlog;
    }

    private static IEnumerable<Measurement<T>> Read<T>(Func<Sample, T> value) where T : struct =>
        _last is { } sample ? [new Measurement<T>(value(sample))] : [];

    private static double Age(Sample sample, DateTimeOffset? oldest) =>
        oldest is { } at ? Math.Max(0, (sample.Time.GetUtcNow() - at).TotalSeconds) : 0;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        PeriodicRounds.RunAsync(
            options.Value.BacklogSampleInterval, time, SampleAsync, e => LogSampleFailed(logger, e), stoppingToken, firstRoundAtStart: true);

    [LoggerMessage(EventId = 1, EventName = "RecoveryBacklogUnread", Level = LogLevel.Warning,
        Message = "Could not read the pending bets and refunds due for their gauges; the last sample stays, next round")]
    private static partial void LogSampleFailed(ILogger logger, Exception exception);
}
