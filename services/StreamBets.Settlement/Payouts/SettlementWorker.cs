using System.Diagnostics;
using Microsoft.Extensions.Options;
using Npgsql;
using StreamBets.Settlement.Data;

namespace StreamBets.Settlement.Payouts;

/// <summary>Wakes idle workers when this process records a due settlement (other replicas' are found by polling).</summary>
public sealed class SettlementWorkerSignal
{
    private readonly SemaphoreSlim _signal = new(0, int.MaxValue);

    public void Wake()
    {
        if (_signal.CurrentCount == 0)
        {
            _signal.Release();
        }
    }

    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _signal.WaitAsync(timeout, cancellationToken);
}

/// <summary>
/// Runs due settlements, <see cref="SettlementOptions.MaxConcurrentSettlements"/> at a time, and resumes unfinished ones
/// after a restart (they are still 'running' in settlementdb). A pool is run by one worker at a time across replicas:
/// the worker holds a PostgreSQL session advisory lock on the pool for the whole run, on a connection of its own, so
/// a crashed replica's lock goes with its session. (Were two runs ever to overlap, they would still pay nobody twice:
/// transfer ids, settled_bets and the settled status each admit one winner.) When every candidate's lock is held, the
/// worker looks again past the pools whose lock a session holds, so a vanished host's session, which PostgreSQL may keep
/// for hours, holds back its own pools and no others; <see cref="SettlementBacklog"/> makes those visible.
/// <para>
/// A transient failure (a dependency down, bets still pending) leaves the settlement 'running' and retries it with
/// exponential backoff; anything else stops it in 'failed' with the reason, logged as an error and counted.
/// </para>
/// </summary>
public sealed partial class SettlementWorker(
    NpgsqlDataSource db, SettlementStore store, PoolSettlementRun run, SettlementWorkerSignal signal, TimeProvider time,
    IOptions<SettlementOptions> options, ILogger<SettlementWorker> logger) : BackgroundService
{
    /// <summary>Advisory lock namespace of settlement runs (the second key is <c>hashtext</c> of the pool id).</summary>
    public const int RunLockClass = SettlementStore.RunLockClass;

    /// <summary>Due settlements one poll considers, longest-waiting first.</summary>
    private const int Candidates = 16;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, Math.Max(1, options.Value.MaxConcurrentSettlements)).Select(_ => Task.Run(() => WorkAsync(stoppingToken), stoppingToken)));

    private async Task WorkAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var ranOne = false;
            try
            {
                ranOne = await RunNextAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // settlementdb unreachable, for instance: wait for the next poll rather than spin.
                LogWorkerFailed(logger, e);
            }

            if (!ranOne)
            {
                try
                {
                    if (await signal.WaitAsync(options.Value.PollInterval, stoppingToken))
                    {
                        // The handler wakes us before its inbox transaction commits; give the commit a moment.
                        await Task.Delay(TimeSpan.FromMilliseconds(50), time, stoppingToken);
                    }
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Claims and runs one runnable settlement; false when there was none to claim.</summary>
    private async Task<bool> RunNextAsync(CancellationToken stoppingToken)
    {
        var candidates = await store.RunnableAsync(time.GetUtcNow(), Candidates, skipHeldLocks: false, stoppingToken);
        if (candidates.Count == 0)
        {
            return false;
        }

        await using var lockSession = await db.OpenConnectionAsync(stoppingToken);
        var (ran, lockedAny) = await RunFirstLockableAsync(lockSession, candidates, stoppingToken);
        if (ran || lockedAny || candidates.Count < Candidates)
        {
            return ran;
        }

        // Every candidate's lock is held, and due pools may wait behind them: runs in progress, or a vanished host's
        // session that PostgreSQL keeps for hours (a run does not move next_attempt_at). Only now look past them: the
        // query reads pg_locks, which scans the server's whole lock table, too dear for every idle poll.
        candidates = await store.RunnableAsync(time.GetUtcNow(), Candidates, skipHeldLocks: true, stoppingToken);
        return (await RunFirstLockableAsync(lockSession, candidates, stoppingToken)).Ran;
    }

    /// <summary>Runs the first candidate whose lock this session gets; also says whether it got any lock at all.</summary>
    private async Task<(bool Ran, bool LockedAny)> RunFirstLockableAsync(NpgsqlConnection lockSession, IReadOnlyList<Guid> candidates, CancellationToken stoppingToken)
    {
        var lockedAny = false;
        foreach (var poolId in candidates)
        {
            if (!await TryLockAsync(lockSession, poolId, stoppingToken))
            {
                continue; // another worker or replica runs it, or a vanished host's session still holds it
            }

            lockedAny = true;
            try
            {
                var settlement = await store.StartAsync(poolId, time.GetUtcNow(), stoppingToken);
                if (settlement is null)
                {
                    continue; // finished or rescheduled between the query and the lock
                }
                await RunAsync(settlement, stoppingToken);
                return (true, true);
            }
            finally
            {
                await UnlockAsync(lockSession, poolId);
            }
        }
        return (false, lockedAny);
    }

    private async Task RunAsync(SettlementRecord settlement, CancellationToken stoppingToken)
    {
        var poolId = settlement.PoolId;
        var links = ActivityContext.TryParse(settlement.TraceParent, null, out var cause) ? new[] { new ActivityLink(cause) } : null;
        using var activity = SettlementTelemetry.Source.StartActivity("settle pool", ActivityKind.Internal, parentContext: default, links: links);
        activity?.SetTag("streambets.pool_id", poolId);
        activity?.SetTag("streambets.settlement.kind", settlement.Kind);
        activity?.SetTag("streambets.settlement.attempt", settlement.Attempts);
        LogStarted(logger, poolId, settlement.Kind, settlement.Attempts, settlement.SettledBets);

        var stopwatch = Stopwatch.StartNew();
        string outcome;
        string? reason = null;
        try
        {
            var summary = await run.RunAsync(settlement, stoppingToken);
            var residue = await run.EscrowBalanceAsync(poolId, stoppingToken);
            if (residue != 0)
            {
                // Settlement moved exactly the accepted stakes; anything left came from elsewhere (see docs/settlement.md).
                LogEscrowResidue(logger, poolId, residue);
            }
            var published = await store.CompleteAsync(poolId, summary, residue, time.GetUtcNow(), stoppingToken);
            if (published)
            {
                // Counted with the settled status, so once: every rerun replays the house's transfers (DUPLICATE) and
                // finds the same residue.
                SettlementTelemetry.PaidMinor.Add(summary.RakeMinor, new KeyValuePair<string, object?>("reason", PoolSettlementRun.RakeReason));
                SettlementTelemetry.PaidMinor.Add(summary.BreakageMinor, new KeyValuePair<string, object?>("reason", PoolSettlementRun.BreakageReason));
                if (residue != 0)
                {
                    SettlementTelemetry.EscrowResidues.Add(1);
                }
            }
            outcome = "settled";
            LogSettled(logger, poolId, summary.BetCount, summary.PaidMinor, summary.RakeMinor, summary.BreakageMinor, stopwatch.Elapsed.TotalSeconds, published);
        }
        catch (Exception e) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: the settlement stays 'running' and the next start (here or on another replica) resumes it.
            LogInterrupted(logger, poolId, e.GetType().Name);
            return;
        }
        catch (Exception e) when (SettlementFailures.IsTransient(e))
        {
            outcome = "retry";
            reason = SettlementFailures.ReasonOf(e);
            var delay = RetryDelay(settlement.AttemptsSinceRequeue);
            var nextAttemptAt = time.GetUtcNow() + delay;
            activity?.SetStatus(ActivityStatusCode.Error, reason);
            if (!await WriteOutcomeAsync(settlement, reason, () => store.RetryLaterAsync(poolId, settlement.Attempts, $"{reason}: {e.Message}", nextAttemptAt, time.GetUtcNow(), CancellationToken.None), stoppingToken))
            {
                return;
            }
            LogRetry(logger, e, poolId, reason, delay.TotalSeconds);
        }
        catch (Exception e)
        {
            outcome = "failed";
            reason = SettlementFailures.ReasonOf(e);
            activity?.SetStatus(ActivityStatusCode.Error, reason);
            if (!await WriteOutcomeAsync(settlement, reason, () => store.FailAsync(poolId, settlement.Attempts, $"{reason}: {e.Message}", time.GetUtcNow(), CancellationToken.None), stoppingToken))
            {
                return;
            }
            // Logged and counted once the failed state is written: a run that dies before it reruns and fails again.
            LogFailed(logger, e, poolId, reason);
            SettlementTelemetry.Failures.Add(1, new KeyValuePair<string, object?>("reason", reason));
        }

        var tags = new TagList { { "outcome", outcome }, { "reason", reason } };
        SettlementTelemetry.Runs.Add(1, tags);
        SettlementTelemetry.Duration.Record(stopwatch.Elapsed.TotalSeconds, tags);
    }

    /// <summary>
    /// Writes how a run ended, trying again with backoff while settlementdb fails. The pool stays locked meanwhile: were
    /// it let go, it would rerun at once (its next_attempt_at is not moved yet) and count its failure again. False when
    /// a shutdown came first (the settlement is still 'running', and the next start reruns it), or when a newer run has
    /// the pool and nothing was written: that run's outcome is the one to log and count.
    /// </summary>
    private async Task<bool> WriteOutcomeAsync(SettlementRecord settlement, string reason, Func<Task<bool>> write, CancellationToken stoppingToken)
    {
        var poolId = settlement.PoolId;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                if (await write())
                {
                    return true;
                }
                // This run lost its lock session (a failover) and another replica's run took the pool over.
                LogSuperseded(logger, poolId, settlement.Attempts, reason);
                return false;
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                var delay = RetryDelay(attempt);
                LogOutcomeWriteFailed(logger, e, poolId, delay.TotalSeconds);
                try
                {
                    await Task.Delay(delay, time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
        LogInterrupted(logger, poolId, "shutdown while writing the outcome");
        return false;
    }

    /// <summary>Exponential from <see cref="SettlementOptions.RetryInitialDelay"/> to <see cref="SettlementOptions.RetryMaxDelay"/>, ±20 % jitter.</summary>
    private TimeSpan RetryDelay(int attempts)
    {
        var settings = options.Value;
        var exponential = settings.RetryInitialDelay.TotalMilliseconds * Math.Pow(2, Math.Clamp(attempts - 1, 0, 20));
        var capped = Math.Min(exponential, settings.RetryMaxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped * (0.8 + Random.Shared.NextDouble() * 0.4));
    }

    private static async Task<bool> TryLockAsync(NpgsqlConnection session, Guid poolId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT pg_try_advisory_lock($1, hashtext($2))", session);
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = RunLockClass });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = poolId.ToString() });
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private static async Task UnlockAsync(NpgsqlConnection session, Guid poolId)
    {
        if (session.State != System.Data.ConnectionState.Open)
        {
            return; // the session is gone, and its locks with it
        }
        await using var command = new NpgsqlCommand("SELECT pg_advisory_unlock($1, hashtext($2))", session);
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = RunLockClass });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = poolId.ToString() });
        await command.ExecuteScalarAsync(CancellationToken.None);
    }

    [LoggerMessage(EventId = 20, EventName = "SettlementStarted", Level = LogLevel.Information,
        Message = "Settling pool {PoolId} ({Kind}), attempt {Attempt}; {SettledBets} bets already settled")]
    private static partial void LogStarted(ILogger logger, Guid poolId, string kind, int attempt, long settledBets);

    [LoggerMessage(EventId = 21, EventName = "PoolSettled", Level = LogLevel.Information,
        Message = "Pool {PoolId} settled: {BetCount} bets, paid {PaidMinor}, rake {RakeMinor}, breakage {BreakageMinor} in {Seconds:F1} s (PoolSettled written now: {Published})")]
    private static partial void LogSettled(ILogger logger, Guid poolId, long betCount, long paidMinor, long rakeMinor, long breakageMinor, double seconds, bool published);

    [LoggerMessage(EventId = 22, EventName = "SettlementRetry", Level = LogLevel.Warning,
        Message = "Settlement of pool {PoolId} will be retried in {DelaySeconds:F1} s ({Reason})")]
    private static partial void LogRetry(ILogger logger, Exception exception, Guid poolId, string reason, double delaySeconds);

    [LoggerMessage(EventId = 23, EventName = "SettlementFailed", Level = LogLevel.Error,
        Message = "Settlement of pool {PoolId} FAILED ({Reason}); it stays 'failed' until an operator requeues it")]
    private static partial void LogFailed(ILogger logger, Exception exception, Guid poolId, string reason);

    [LoggerMessage(EventId = 24, EventName = "SettlementInterrupted", Level = LogLevel.Information,
        Message = "Settlement of pool {PoolId} interrupted by shutdown ({Exception}); it resumes on the next start")]
    private static partial void LogInterrupted(ILogger logger, Guid poolId, string exception);

    [LoggerMessage(EventId = 25, EventName = "EscrowResidue", Level = LogLevel.Error,
        Message = "Pool {PoolId} is settled but its escrow still holds {ResidueMinor}: money no accepted bet accounts for")]
    private static partial void LogEscrowResidue(ILogger logger, Guid poolId, long residueMinor);

    [LoggerMessage(EventId = 27, EventName = "SettlementOutcomeWriteFailed", Level = LogLevel.Warning,
        Message = "Writing how the settlement of pool {PoolId} ended failed; trying again in {DelaySeconds:F1} s")]
    private static partial void LogOutcomeWriteFailed(ILogger logger, Exception exception, Guid poolId, double delaySeconds);

    [LoggerMessage(EventId = 28, EventName = "SettlementRunSuperseded", Level = LogLevel.Warning,
        Message = "Settlement of pool {PoolId}, attempt {Attempt}, ended ({Reason}) after a newer attempt took the pool over (this run's lock session was lost): nothing written or counted; the newer attempt's outcome stands")]
    private static partial void LogSuperseded(ILogger logger, Guid poolId, int attempt, string reason);

    [LoggerMessage(EventId = 26, EventName = "SettlementWorkerFailed", Level = LogLevel.Warning, Message = "Looking for due settlements failed; next poll")]
    private static partial void LogWorkerFailed(ILogger logger, Exception exception);
}
