using Microsoft.Extensions.Options;
using Npgsql;
using static StreamBets.BetEngine.Data.BetStore;

namespace StreamBets.BetEngine.Data;

/// <summary>
/// Deletes the one-outcome rows (<c>pool_user_outcomes</c>, one per player and pool, ~1M a day) of pools that finished
/// more than <see cref="BetEngineOptions.FinishedPoolOutcomesKeptFor"/> ago and have no pending batch left. Kept, they
/// grew by ~35 GB a year and were never read again.
/// <para>
/// Why nothing can need them any more: the rows are inserted only by a finalize that finds its pool unfinished
/// (<see cref="Placement.BatchFinalizer"/>), and read only beside bets about to move stakes: a batch's pending write
/// (which writes nothing in a finished pool, so its read is unused) and recovery of pending bets (<see
/// cref="Placement.PendingBetRecovery"/>). Recovery only finds bets listed in <c>pending_batches</c>, and a pending bet
/// always has its batch's row there, so a pool with none has no bet left to recover; and after the pool finished no
/// pending write adds one (the gate in <see cref="BetStore.WritePendingAsync"/>). The margin covers a finalize or pending
/// write that read the pool unfinished just before its finished_pools row committed. Refunds and Settlement's snapshot
/// never read these rows; a finished_pools row is never deleted, so the pool keeps refusing bets without them.
/// </para>
/// Safe on several replicas at once: each statement deletes rows nobody else has locked (SKIP LOCKED), and a deleted row
/// is simply not found by the next. A failed round is logged and the next round starts over.
/// </summary>
public sealed partial class FinishedPoolOutcomesCleanup(
    NpgsqlDataSource db, TimeProvider time, IOptions<BetEngineOptions> options, ILogger<FinishedPoolOutcomesCleanup> logger) : BackgroundService
{
    /// <summary>Rows per DELETE: each statement is a short transaction that holds few locks and little WAL.</summary>
    private const int MaxRowsPerStatement = 5_000;

    /// <summary>
    /// The finished pools that still have one-outcome rows. Walked as a loose index scan of the table's primary key (one
    /// probe per pool that has rows), so the cost follows the few pools not cleaned up yet, not every pool ever finished.
    /// </summary>
    private const string PoolsToCleanSql = """
        WITH RECURSIVE pools_with_rows (pool_id) AS (
            (SELECT pool_id FROM pool_user_outcomes ORDER BY pool_id LIMIT 1)
            UNION ALL
            SELECT (SELECT u.pool_id FROM pool_user_outcomes u WHERE u.pool_id > p.pool_id ORDER BY u.pool_id LIMIT 1)
            FROM pools_with_rows p WHERE p.pool_id IS NOT NULL)
        SELECT p.pool_id FROM pools_with_rows p JOIN finished_pools f ON f.pool_id = p.pool_id
        WHERE f.finished_at < $1 AND NOT EXISTS (SELECT 1 FROM pending_batches b WHERE b.pool_id = p.pool_id)
        """;

    private const string DeleteRowsSql = """
        DELETE FROM pool_user_outcomes WHERE pool_id = $1 AND user_id IN (
            SELECT user_id FROM pool_user_outcomes WHERE pool_id = $1 LIMIT $2 FOR UPDATE SKIP LOCKED)
        """;

    /// <summary>One round: deletes the rows of every pool finished more than <paramref name="finishedMoreThan"/> ago with
    /// no pending batch left. Returns how many rows it deleted.</summary>
    public async Task<long> CleanUpAsync(TimeSpan finishedMoreThan, CancellationToken cancellationToken)
    {
        var pools = new List<Guid>();
        await using (var command = db.CreateCommand(PoolsToCleanSql))
        {
            command.Parameters.Add(Value(time.GetUtcNow() - finishedMoreThan));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                pools.Add(reader.GetGuid(0));
            }
        }

        long deleted = 0;
        foreach (var poolId in pools)
        {
            int rows;
            do
            {
                await using var command = db.CreateCommand(DeleteRowsSql);
                command.Parameters.Add(Value(poolId));
                command.Parameters.Add(Value(MaxRowsPerStatement));
                rows = await command.ExecuteNonQueryAsync(cancellationToken);
                deleted += rows;
            }
            while (rows == MaxRowsPerStatement);
        }

        if (deleted > 0)
        {
            LogCleanedUp(logger, deleted, pools.Count);
        }
        return deleted;
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        PeriodicRounds.RunAsync(
            options.Value.FinishedPoolOutcomesCleanupInterval, time,
            token => CleanUpAsync(options.Value.FinishedPoolOutcomesKeptFor, token), e => LogRoundFailed(logger, e), stoppingToken);

    [LoggerMessage(EventId = 1, EventName = "FinishedPoolOutcomesDeleted", Level = LogLevel.Information,
        Message = "Deleted {Rows} one-outcome rows of {Pools} finished pools")]
    private static partial void LogCleanedUp(ILogger logger, long rows, int pools);

    [LoggerMessage(EventId = 2, EventName = "FinishedPoolOutcomesCleanupFailed", Level = LogLevel.Warning,
        Message = "Deleting the one-outcome rows of finished pools failed; next round")]
    private static partial void LogRoundFailed(ILogger logger, Exception exception);
}
