using System.Globalization;
using Microsoft.Extensions.Options;
using StreamBets.Settlement.Data;

namespace StreamBets.Settlement.Payouts;

/// <summary>
/// Reads how many settlements are unfinished and how long the oldest has waited, how many failed and how many settled
/// with an escrow residue, for the backlog gauges. A settlement that keeps retrying (a pending bet that is never
/// decided, a refund the ledger refuses) stays 'running' without failing, so its age is what an alert can catch; one
/// that failed stays counted until an operator requeues it, and a residue for good, where the counters only tick once
/// (docs/settlement.md).
/// <para>
/// It also explains due settlements that do not run because a session has held their run lock past
/// <see cref="SettlementOptions.StuckLockThreshold"/> without progress (a vanished host's session, which PostgreSQL keeps
/// until TCP keepalive gives up): their last_error names the session and the runbook's recipe, and a gauge counts them.
/// It never takes the lock itself: if the holder is in fact alive, only an operator can tell.
/// </para>
/// </summary>
public sealed partial class SettlementBacklog(
    SettlementStore store, TimeProvider time, IOptions<SettlementOptions> options, ILogger<SettlementBacklog> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(15);

    /// <summary>The reason that prefixes the last_error of a settlement stuck on its run lock.</summary>
    public const string StuckOnLockReason = "run-lock-held";

    public async Task ReportAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var counts = await store.BacklogAsync(cancellationToken);
        SettlementTelemetry.ReportBacklog(counts, counts.OldestSince is { } since ? now - since : TimeSpan.Zero);
        try
        {
            SettlementTelemetry.ReportStuckOnLock(await ExplainStuckOnLockAsync(now, cancellationToken));
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            // The stuck check reads pg_locks and pg_stat_activity and writes last_error; its failure must not keep the
            // counts above (failed, residue...) from being reported. Its gauge keeps its last value.
            LogStuckCheckFailed(logger, e);
        }
    }

    /// <summary>Explains the settlements stuck on their run lock now, clears the explanation of those no longer stuck, and counts the stuck.</summary>
    private async Task<int> ExplainStuckOnLockAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var quietSince = now - options.Value.StuckLockThreshold;
        var stuck = await store.StuckOnLockAsync(now, quietSince, cancellationToken);
        foreach (var settlement in stuck)
        {
            if (await store.ExplainStuckAsync(settlement.PoolId, StuckOnLockError(settlement), quietSince, cancellationToken))
            {
                LogStuckOnLock(logger, settlement.PoolId, settlement.HolderPid, settlement.HolderAddress ?? "?", settlement.UpdatedAt);
            }
        }
        // A pool whose lock was freed, or whose run moved, no longer says it is stuck (a run that retries or fails
        // writes its own reason anyway; one that settles clears last_error).
        await store.ClearStuckExplanationsAsync(StuckOnLockReason + ":", stuck.Select(s => s.PoolId), cancellationToken);
        return stuck.Count;
    }

    /// <summary>What an operator needs to find the holder and judge whether it is gone (docs/runbook.md has the recipe).</summary>
    internal static string StuckOnLockError(LockedSettlement s)
    {
        var holder = string.Create(CultureInfo.InvariantCulture,
            $"client {s.HolderAddress ?? "unknown"}, application '{s.HolderApplication}', connected {Instant(s.HolderConnectedAt)}, {s.HolderState ?? "state unknown"} since {Instant(s.HolderStateSince)}");
        return string.Create(CultureInfo.InvariantCulture,
            $"{StuckOnLockReason}: locked by PostgreSQL session pid {s.HolderPid} ({holder}); no progress since {Instant(s.UpdatedAt)}. If that client is gone, end the session: docs/runbook.md, 'A settlement stuck on its run lock'.");
    }

    private static string Instant(DateTimeOffset? at) => at?.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) ?? "unknown";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        do
        {
            try
            {
                await ReportAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // Only telemetry: nothing here may stop the service. The gauges keep their last values; settlementdb's
                // own health check reports an outage.
                LogReadFailed(logger, e);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(EventId = 40, EventName = "SettlementBacklogReadFailed", Level = LogLevel.Warning, Message = "Reading the settlement backlog failed")]
    private static partial void LogReadFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 41, EventName = "SettlementStuckOnLock", Level = LogLevel.Warning,
        Message = "Settlement of pool {PoolId} is due but PostgreSQL session {Pid} (client {Client}) holds its run lock, with no progress since {Since}: see docs/runbook.md")]
    private static partial void LogStuckOnLock(ILogger logger, Guid poolId, int pid, string client, DateTimeOffset since);

    [LoggerMessage(EventId = 42, EventName = "SettlementStuckCheckFailed", Level = LogLevel.Warning,
        Message = "Looking for settlements stuck on their run lock failed; the other backlog gauges are reported")]
    private static partial void LogStuckCheckFailed(ILogger logger, Exception exception);
}
