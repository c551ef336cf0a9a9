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
    private const int MaxBatchesPerSweep = 25; // a pool that keeps failing must not hold the sweep; the next tick resumes

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

    /// <summary>One sweep: everything due now, in batches.</summary>
    public async Task SweepAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var batches = 0;
        IReadOnlyList<Guid> due;
        do
        {
            due = await store.DueForLockAsync(now, BatchSize, cancellationToken);
            foreach (var poolId in due)
            {
                await ActOnAsync("lock pool at window end", poolId, () => commands.LockIfDueAsync(poolId, cancellationToken), cancellationToken);
            }
        }
        while (due.Count == BatchSize && ++batches < MaxBatchesPerSweep);

        var termIfNone = await TermWithoutOwnAsync(cancellationToken);
        IReadOnlyList<Guid> abandoned;
        do
        {
            abandoned = await store.DueForAutoCancelAsync(now, termIfNone, BatchSize, cancellationToken);
            foreach (var poolId in abandoned)
            {
                await ActOnAsync("cancel abandoned pool", poolId, () => commands.CancelIfAbandonedAsync(poolId, termIfNone, cancellationToken), cancellationToken);
            }
        }
        while (abandoned.Count == BatchSize && ++batches < MaxBatchesPerSweep);
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

    /// <summary>One pool's lock or cancel. Its failure is logged and the sweep goes on: the pools are read in the same
    /// order every tick, so one pool that keeps failing would otherwise stop every later lock and cancel for good.</summary>
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
