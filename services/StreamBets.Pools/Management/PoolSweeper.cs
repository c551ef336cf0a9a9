using System.Diagnostics;
using StreamBets.Pools.Configuration;
using StreamBets.Pools.Data;

namespace StreamBets.Pools.Management;

/// <summary>
/// Once a second (on the injected clock): locks open pools whose window has ended and cancels pools locked for longer
/// than their own auto-cancel term (fixed when each was created) without a result. It reads only due pools, through
/// the partial indexes on locks_at and abandons_at (and lock time, for the few pools locked without abandons_at written);
/// pools stored before pools kept a term follow the configured one. Several replicas may sweep at once: each change is an optimistic-concurrency save,
/// so a pool is locked or cancelled once and its event written once.
/// </summary>
public sealed partial class PoolSweeper(
    PoolStore store, PoolCommands commands, PoolsSettingsProvider settings, TimeProvider time, ILogger<PoolSweeper> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    /// <summary>Each automatic lock or cancel is a trace of its own: the sweep's polls are not traced, its actions are.</summary>
    public static readonly ActivitySource ActivitySource = new("StreamBets.Pools.Sweeper");
    private const int BatchSize = 200;
    private const int MaxBatchesPerSweep = 25; // bounds one sweep's work; the next tick goes on from where it stopped

    /// <summary>While no configuration is in force, its warning is repeated this often, not at every tick.</summary>
    public static readonly TimeSpan RepeatMissingConfigurationWarningAfter = TimeSpan.FromMinutes(1);

    // When the missing configuration was last logged; null while it is in force. Sweeps of one sweeper run one at a time.
    private DateTimeOffset? _missingConfigurationLoggedAt;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        while (await NextTickAsync(timer, stoppingToken))
        {
            try
            {
                await SweepAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                LogSweepFailed(logger, e); // the next tick tries again
            }
        }
    }

    private static async Task<bool> NextTickAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>
    /// One sweep: everything due now, in pages, each read after the last pool of the one before (never again from the
    /// start), so every due pool is tried at most once a sweep and pools that keep failing cannot hide the ones behind
    /// them. A sweep reads at most <see cref="MaxBatchesPerSweep"/> pages (each query at least one); when it stops short of
    /// the end of a query, the next sweep goes on from there, so even more failing pools than that cannot starve the rest.
    /// </summary>
    public async Task SweepAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var pages = await _locks.SweepAsync(
            MaxBatchesPerSweep, after => store.DueForLockAsync(now, after, BatchSize, cancellationToken),
            poolId => ActOnAsync("lock pool at window end", poolId, () => commands.LockIfDueAsync(poolId, cancellationToken), cancellationToken));

        var termIfNone = await TermWithoutOwnAsync(cancellationToken);
        Task Cancel(Guid poolId) =>
            ActOnAsync("cancel abandoned pool", poolId, () => commands.CancelIfAbandonedAsync(poolId, termIfNone, cancellationToken), cancellationToken);
        pages += await _deadlines.SweepAsync(
            MaxBatchesPerSweep - pages, after => store.DueForAutoCancelAsync(now, after, BatchSize, cancellationToken), Cancel);
        await _withoutDeadline.SweepAsync(
            MaxBatchesPerSweep - pages, after => store.DueForAutoCancelWithoutDeadlineAsync(now, termIfNone, after, BatchSize, cancellationToken), Cancel);
    }

    // Where each query's next sweep starts. Per replica and in memory: each replica pages through every due pool by
    // itself, and a restart only starts again from the first.
    private readonly DueQueue _locks = new(), _deadlines = new(), _withoutDeadline = new();

    /// <summary>One of the sweeper's queries of due pools, paged through in order across sweeps.</summary>
    private sealed class DueQueue
    {
        // The last pool read when the previous sweep ran out of pages; null when it read to the end.
        private DuePool? _resumeAfter;

        /// <summary>Acts on each due pool, page by page, for at most <paramref name="maxPages"/> pages (at least one); returns the pages read.</summary>
        public async Task<int> SweepAsync(int maxPages, Func<DuePool?, Task<IReadOnlyList<DuePool>>> readPage, Func<Guid, Task> act)
        {
            var after = _resumeAfter;
            var pages = 0;
            while (true)
            {
                var due = await readPage(after);
                pages++;
                foreach (var pool in due)
                {
                    await act(pool.Id);
                }

                if (due.Count < BatchSize)
                {
                    _resumeAfter = null; // the end: the next sweep starts from the first due pool again
                    return pages;
                }

                after = due[^1];
                if (pages >= maxPages)
                {
                    _resumeAfter = after;
                    return pages;
                }
            }
        }
    }

    /// <summary>
    /// The configured term, for pools stored before each kept its own; null when the configuration cannot be read, so
    /// those wait for a later sweep while every other pool is still locked and cancelled on time.
    /// </summary>
    private async Task<TimeSpan?> TermWithoutOwnAsync(CancellationToken cancellationToken)
    {
        TimeSpan term;
        try
        {
            term = (await settings.GetAsync(cancellationToken)).AbandonedAfter;
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            // Once when it starts, then once a minute: on-call is alerted by the first and needs no line every second.
            var now = time.GetUtcNow();
            if (_missingConfigurationLoggedAt is not { } logged || now - logged >= RepeatMissingConfigurationWarningAfter)
            {
                _missingConfigurationLoggedAt = now;
                LogNoConfiguredTerm(logger, e);
            }
            return null;
        }

        if (_missingConfigurationLoggedAt is not null)
        {
            _missingConfigurationLoggedAt = null;
            LogConfiguredTermBack(logger);
        }
        return term;
    }

    /// <summary>One pool's lock or cancel. Its failure is logged and the sweep goes on to the pools after it (it stays due
    /// and is tried again at the next sweep): one pool that keeps failing must not stop every later lock and cancel.</summary>
    private async Task ActOnAsync(string action, Guid poolId, Func<Task> act, CancellationToken cancellationToken)
    {
        using var activity = ActivitySource.StartActivity(action);
        activity?.SetTag("streambets.pool_id", poolId);
        try
        {
            await act();
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            activity?.SetStatus(ActivityStatusCode.Error);
            LogPoolFailed(logger, e, action, poolId);
        }
    }

    [LoggerMessage(EventId = 4102, EventName = "SweepPoolFailed", Level = LogLevel.Error, Message = "Pool sweep could not {Action} {PoolId}; the other pools go on, it is tried again at the next tick")]
    private static partial void LogPoolFailed(ILogger logger, Exception exception, string action, Guid poolId);

    [LoggerMessage(EventId = 4103, EventName = "SweepWithoutConfiguration", Level = LogLevel.Warning,
        Message = "Pool sweep could not read the configured auto-cancel term; pools stored without a term of their own wait for a later sweep (said again once a minute while it lasts)")]
    private static partial void LogNoConfiguredTerm(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 4104, EventName = "SweepConfigurationBack", Level = LogLevel.Information,
        Message = "Pool sweep reads the configured auto-cancel term again; pools stored without a term of their own are cancelled on time again")]
    private static partial void LogConfiguredTermBack(ILogger logger);

    [LoggerMessage(EventId = 4101, EventName = "SweepFailed", Level = LogLevel.Error, Message = "Pool sweep failed; retrying at the next tick")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
