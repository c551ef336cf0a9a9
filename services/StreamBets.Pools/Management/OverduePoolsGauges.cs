using System.Diagnostics.Metrics;
using StreamBets.Pools.Configuration;
using StreamBets.Pools.Data;

namespace StreamBets.Pools.Management;

/// <summary>
/// Pools the sweeper has not got to, as gauges: open pools still taking bets' state past their lock time, and locked
/// pools still holding their stakes past their auto-cancel time, each by more than <see cref="OverdueAfter"/>, counted
/// and aged by the longest-waiting one. Nothing else shows them: a sweep that fails for some pools logs and goes on, and
/// health stays Healthy.
/// <para>
/// poolsdb is read every <see cref="SampleInterval"/>, one round trip through the sweeper's partial indexes, and a scrape
/// reads the last sample: a gauge callback runs on every collection of every exporter and listener, so querying there
/// would multiply the reads and tie a scrape's latency to poolsdb's. The counts are as of the last sample; the ages are
/// taken at the scrape from the oldest due time then, so they keep growing while poolsdb cannot be read (a failed sample
/// is logged and the last one stays). Nothing is reported before the first sample. Every replica reports the same
/// poolsdb-wide figures: alert on the max, not the sum. Pools stored without a term of their own are counted by the
/// configured term, and not at all while no configuration can be read (the sweeper leaves them then too, and warns).
/// </para>
/// </summary>
public sealed partial class OverduePoolsGauges : BackgroundService
{
    public static readonly TimeSpan SampleInterval = TimeSpan.FromSeconds(15);

    /// <summary>How late a pool must be to count: the sweeper runs every second, so a minute is never a normal delay.</summary>
    public static readonly TimeSpan OverdueAfter = TimeSpan.FromMinutes(1);

    private readonly PoolStore _store;
    private readonly PoolsSettingsProvider _settings;
    private readonly TimeProvider _time;
    private readonly ILogger<OverduePoolsGauges> _logger;
    private volatile OverduePools? _last;

    public OverduePoolsGauges(
        PoolStore store, PoolsSettingsProvider settings, TimeProvider time, IMeterFactory meters, ILogger<OverduePoolsGauges> logger)
    {
        (_store, _settings, _time, _logger) = (store, settings, time, logger);
        // The meter comes from the host's factory, which disposes it: each instance reports its own sample.
        var meter = meters.Create("StreamBets.Pools");
        meter.CreateObservableGauge("streambets.pools.overdue_locks", () => Read(s => s.Locks), "{pool}",
            "Open pools past their lock time by more than a minute (the sweeper has not locked them), poolsdb-wide, as of the last sample (every 15 s).");
        meter.CreateObservableGauge("streambets.pools.overdue_locks_oldest_age", () => Read(s => Age(s.OldestLockDueAt)), "s",
            "Seconds since the lock time of the longest-overdue open pool (0 when none).");
        meter.CreateObservableGauge("streambets.pools.overdue_cancels", () => Read(s => s.Cancels), "{pool}",
            "Locked pools past their auto-cancel time by more than a minute (the sweeper has not cancelled them; their stakes stay in escrow), poolsdb-wide, as of the last sample (every 15 s).");
        meter.CreateObservableGauge("streambets.pools.overdue_cancels_oldest_age", () => Read(s => Age(s.OldestCancelDueAt)), "s",
            "Seconds since the auto-cancel time of the longest-overdue locked pool (0 when none).");
    }

    /// <summary>Reads the overdue pools and makes them what the gauges report.</summary>
    public async Task<OverduePools> SampleAsync(CancellationToken cancellationToken)
    {
        var overdue = await _store.OverdueAsync(_time.GetUtcNow() - OverdueAfter, await TermWithoutOwnAsync(cancellationToken), cancellationToken);
        _last = overdue;
        return overdue;
    }

    /// <summary>The configured term, for pools stored without one; null when it cannot be read (the sweeper warns of it).</summary>
    private async Task<TimeSpan?> TermWithoutOwnAsync(CancellationToken cancellationToken)
    {
        try
        {
            return (await _settings.GetAsync(cancellationToken)).AbandonedAfter;
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    private IEnumerable<Measurement<T>> Read<T>(Func<OverduePools, T> value) where T : struct =>
        _last is { } sample ? [new Measurement<T>(value(sample))] : [];

    private double Age(DateTimeOffset? dueAt) => dueAt is { } at ? Math.Max(0, (_time.GetUtcNow() - at).TotalSeconds) : 0;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        PeriodicRounds.RunAsync(SampleInterval, _time, SampleAsync, e => LogSampleFailed(_logger, e), stoppingToken, firstRoundAtStart: true);

    [LoggerMessage(EventId = 4105, EventName = "OverduePoolsUnread", Level = LogLevel.Warning,
        Message = "Could not read the overdue pools for their gauges; the last sample stays, next round")]
    private static partial void LogSampleFailed(ILogger logger, Exception exception);
}
