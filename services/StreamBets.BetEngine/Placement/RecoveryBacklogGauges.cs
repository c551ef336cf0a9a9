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
public sealed partial class RecoveryBacklogGauges : BackgroundService
{
    private readonly BetStore _store;
    private readonly TimeProvider _time;
    private readonly IOptions<BetEngineOptions> _options;
    private readonly ILogger<RecoveryBacklogGauges> _logger;

    /// <summary>The last sample; null before the first.</summary>
    private volatile RecoveryBacklog? _last;

    public RecoveryBacklogGauges(BetStore store, TimeProvider time, IOptions<BetEngineOptions> options, IMeterFactory meterFactory, ILogger<RecoveryBacklogGauges> logger)
    {
        (_store, _time, _options, _logger) = (store, time, options, logger);
        // The host's meter of the Bet Engine's name (exported as the pipeline's static one is): the gauges are this
        // sampler's, so two hosts in one process (tests) each report their own.
        var meter = meterFactory.Create(BetBatchPipeline.Meter.Name);
        meter.CreateObservableGauge(
            "streambets.bets.pending_batches", () => Read(b => b.PendingBatches), "{batch}",
            "Batches of bets written pending and not all decided (pending_batches rows), betsdb-wide, as of the last sample (every 15 s).");
        meter.CreateObservableGauge(
            "streambets.bets.pending_oldest_age", () => Read(b => Age(b.OldestPendingWrittenAt)), "s",
            "Seconds since the oldest pending batch was written (0 when none). Recovery takes a batch once it is RecoveryGracePeriod (50 s) old.");
        meter.CreateObservableGauge(
            "streambets.bets.refunds_due", () => Read(b => b.RefundsDue), "{refund}",
            "Stakes of rejected bets not given back yet (refund_status 'due'), betsdb-wide, as of the last sample (every 15 s).");
        meter.CreateObservableGauge(
            "streambets.bets.refunds_due_oldest_age", () => Read(b => Age(b.OldestRefundDecidedAt)), "s",
            "Seconds since the oldest bet with its refund due was rejected (0 when none).");
    }

    /// <summary>Reads the backlog and makes it what the gauges report.</summary>
    public async Task<RecoveryBacklog> SampleAsync(CancellationToken cancellationToken)
    {
        var backlog = await _store.ReadRecoveryBacklogAsync(cancellationToken);
        _last = backlog;
        return backlog;
    }

    private IEnumerable<Measurement<T>> Read<T>(Func<RecoveryBacklog, T> value) where T : struct =>
        _last is { } backlog ? [new Measurement<T>(value(backlog))] : [];

    private double Age(DateTimeOffset? oldest) => oldest is { } at ? Math.Max(0, (_time.GetUtcNow() - at).TotalSeconds) : 0;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        PeriodicRounds.RunAsync(
            _options.Value.BacklogSampleInterval, _time, SampleAsync, e => LogSampleFailed(_logger, e), stoppingToken, firstRoundAtStart: true);

    [LoggerMessage(EventId = 1, EventName = "RecoveryBacklogUnread", Level = LogLevel.Warning,
        Message = "Could not read the pending bets and refunds due for their gauges; the last sample stays, next round")]
    private static partial void LogSampleFailed(ILogger logger, Exception exception);
}
