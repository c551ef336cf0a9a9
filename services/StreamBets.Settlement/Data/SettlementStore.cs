using Npgsql;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;

namespace StreamBets.Settlement.Data;

/// <summary>The states of a settlement (settlements.status).</summary>
public static class SettlementStatuses
{
    /// <summary>Recorded by the event handler; no run has started yet.</summary>
    public const string Due = "due";

    /// <summary>A run started; also while it waits for a retry after a transient failure, or after a crash.</summary>
    public const string Running = "running";

    public const string Settled = "settled";

    /// <summary>Stopped for good (a refused payment, totals that changed...): an operator looks, then may requeue it.</summary>
    public const string Failed = "failed";
}

public static class SettlementKinds
{
    public const string Resolved = "resolved";
    public const string Cancelled = "cancelled";
}

/// <summary>One row of <c>settlements</c>.</summary>
public sealed record SettlementRecord(
    Guid PoolId,
    string Kind,
    string Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset NextAttemptAt,
    int Attempts,
    string? LastError,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    string? TraceParent,
    string? DeclaredTotals,
    long? BetCount,
    long? TotalMinor,
    long SettledBets,
    string? Basis,
    long? PaidMinor,
    long? RakeMinor,
    long? BreakageMinor,
    long? WinningBets,
    long? RefundedBets,
    long? EscrowResidueMinor,
    int AttemptsBeforeRequeue)
{
    /// <summary>Runs started since the last requeue (or ever): what the retry backoff grows with.</summary>
    public int AttemptsSinceRequeue => Attempts - AttemptsBeforeRequeue;
}

/// <summary>A bet whose payout the ledger confirmed (or that pays nothing), ready to be recorded and announced in a BetsSettled.</summary>
public readonly record struct SettledBet(Guid BetId, Guid UserId, string Result, long StakeMinor, long PayoutMinor);

/// <summary>What Pools summed up for the whole pool: paid + rake + breakage = total.</summary>
public sealed record SettlementSummary(
    string Basis, long TotalMinor, long PaidMinor, long RakeMinor, long BreakageMinor, long BetCount, long WinningBets, long RefundedBets);

/// <summary>
/// A due settlement whose run lock a PostgreSQL session holds, with what pg_stat_activity says of that session (null
/// where the settlement's role may not see it). A lock a prepared transaction holds has no session and is not listed.
/// </summary>
public sealed record LockedSettlement(
    Guid PoolId,
    DateTimeOffset UpdatedAt,
    int HolderPid,
    string? HolderApplication,
    string? HolderAddress,
    DateTimeOffset? HolderConnectedAt,
    string? HolderState,
    DateTimeOffset? HolderStateSince);

/// <summary>What <see cref="SettlementStore.BacklogAsync"/> read: the unfinished, the oldest's wait, the failed, the settled with an escrow residue.</summary>
public sealed record SettlementBacklogCounts(long Waiting, DateTimeOffset? OldestSince, long Failed, long EscrowResiduePools);

/// <summary>settlementdb: the settlements, the bets already settled, and their events (through the outbox, in the same transactions).</summary>
public sealed class SettlementStore(NpgsqlDataSource db, IOutbox outbox)
{
    /// <summary>
    /// Advisory lock namespace of settlement runs: a run holds <c>pg_advisory_lock(RunLockClass, hashtext(pool_id))</c>,
    /// which pg_locks shows as classid = RunLockClass, objid = the hash as an unsigned oid, objsubid = 2 (two int4 keys).
    /// </summary>
    public const int RunLockClass = 727_275;

    /// <summary>The run locks granted in settlementdb now (objid = <c>hashtext(pool_id::text)::oid</c>) and the sessions holding them.</summary>
    private static readonly string HeldRunLocks = $"""
        SELECT l.objid, l.pid FROM pg_locks l
        WHERE l.locktype = 'advisory' AND l.granted AND l.classid = {RunLockClass} AND l.objsubid = 2
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        """;

    private const string Columns = """
        pool_id, kind, status, created_at, updated_at, next_attempt_at, attempts, last_error, started_at, finished_at, trace_parent,
        declared_totals, bet_count, total_minor, settled_bets, basis, paid_minor, rake_minor, breakage_minor, winning_bets, refunded_bets,
        escrow_residue_minor, attempts_before_requeue
        """;

    /// <summary>
    /// Makes a finished pool due for settlement, in the caller's (inbox) transaction. False if it was already known.
    /// created_at is when the pool finished, not when Settlement heard of it: the oldest-waiting gauge and the operators'
    /// list read it, and a consumer hours behind or a lost event must not make a pool look newly finished. A finish time
    /// ahead of <paramref name="now"/> (the sender's clock ahead of ours) counts as now.
    /// </summary>
    public static async Task<bool> RecordDueAsync(
        NpgsqlTransaction transaction, Guid poolId, string kind, DateTimeOffset finishedAt, DateTimeOffset now, string? traceParent,
        CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            INSERT INTO settlements (pool_id, kind, status, created_at, updated_at, next_attempt_at, trace_parent)
            VALUES ($1, $2, 'due', $3, $4, $4, $5)
            ON CONFLICT (pool_id) DO NOTHING
            """, transaction.Connection, transaction);
        command.Parameters.Add(Value(poolId));
        command.Parameters.Add(Value(kind));
        command.Parameters.Add(Value(finishedAt < now ? finishedAt : now));
        command.Parameters.Add(Value(now));
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)traceParent ?? DBNull.Value });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>
    /// Makes a finished pool due for settlement, as its event's handler would (<see cref="RecordDueAsync(NpgsqlTransaction, Guid, string, DateTimeOffset, DateTimeOffset, string?, CancellationToken)"/>),
    /// in a transaction of its own: for a pool whose event never arrived. False if it was already known, in any state.
    /// </summary>
    public async Task<bool> RecordDueAsync(Guid poolId, string kind, DateTimeOffset finishedAt, DateTimeOffset now, string? traceParent, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var recorded = await RecordDueAsync(transaction, poolId, kind, finishedAt, now, traceParent, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return recorded;
    }

    public async Task<SettlementRecord?> FindAsync(Guid poolId, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand($"SELECT {Columns} FROM settlements WHERE pool_id = $1");
        command.Parameters.Add(Value(poolId));
        return await ReadOneAsync(command, cancellationToken);
    }

    /// <summary>
    /// Settlements newest first (by when their pool finished), optionally of one status and optionally only those that
    /// settled with money left in their escrow, <paramref name="limit"/> at a time after <paramref name="after"/>; the
    /// next page's cursor is null on the last page.
    /// </summary>
    public async Task<(IReadOnlyList<SettlementRecord> Settlements, string? NextCursor)> ListAsync(
        string? status, bool escrowResidueOnly, PageCursor? after, int limit, CancellationToken cancellationToken)
    {
        // Distinct statement texts rather than "$4 IS NULL OR status = $4", so each keeps its own index under a generic
        // plan (the residue filter matches the partial index settlements_with_escrow_residue).
        await using var command = db.CreateCommand($"""
            SELECT {Columns} FROM settlements
            WHERE {(status is null ? "" : "status = $4 AND ")}{(escrowResidueOnly ? "escrow_residue_minor <> 0 AND " : "")}(created_at, pool_id) < ($1, $2)
            ORDER BY created_at DESC, pool_id DESC
            LIMIT $3
            """);
        command.Parameters.Add(Value(after?.At ?? DateTimeOffset.MaxValue));
        command.Parameters.Add(Value(after?.Id ?? Guid.Empty));
        command.Parameters.Add(Value(limit + 1));
        if (status is not null)
        {
            command.Parameters.Add(Value(status));
        }

        var settlements = new List<SettlementRecord>(limit + 1);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            settlements.Add(Read(reader));
        }

        // One row beyond the limit says whether another page exists, without a count query.
        if (settlements.Count <= limit)
        {
            return (settlements, null);
        }
        settlements.RemoveAt(limit);
        return (settlements, new PageCursor(settlements[^1].CreatedAt, settlements[^1].PoolId).ToString());
    }

    /// <summary>
    /// Settlements waiting for a run (new, crashed, or due for a retry), the longest-waiting first. With
    /// <paramref name="skipHeldLocks"/>, except those whose run lock a session holds: runs in progress, and runs of a
    /// vanished host whose session PostgreSQL keeps (with its locks) until TCP keepalive gives up, about 2 h by Linux
    /// defaults. Their next_attempt_at stays where it was, so they can fill the head of the queue; but pg_locks reads the
    /// whole server's lock table, so the worker asks for that only when none of the plain candidates could be locked.
    /// </summary>
    public async Task<IReadOnlyList<Guid>> RunnableAsync(DateTimeOffset now, int limit, bool skipHeldLocks, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand($"""
            SELECT pool_id FROM settlements
            WHERE status IN ('due', 'running') AND next_attempt_at <= $1
            {(skipHeldLocks ? $"AND hashtext(pool_id::text)::oid NOT IN (SELECT held.objid FROM ({HeldRunLocks}) held)" : "")}
            ORDER BY next_attempt_at LIMIT $2
            """);
        command.Parameters.Add(Value(now));
        command.Parameters.Add(Value(limit));
        var pools = new List<Guid>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            pools.Add(reader.GetGuid(0));
        }
        return pools;
    }

    /// <summary>
    /// Due settlements that have not moved (updated_at) since <paramref name="quietSince"/> while a session holds their run
    /// lock and has itself been quiet (pg_stat_activity.state_change) since then. updated_at alone dates how long the
    /// pool waited, not how long its lock has been held: a worker that has just taken the lock of a pool due for an hour
    /// has not bumped it yet. A holder whose activity Settlement's role cannot see (state_change NULL, or its row gone
    /// already) proves nothing and is not listed: every replica's session uses Settlement's own role, which sees its own
    /// sessions, and the oldest_waiting_age gauge still pages on the wait.
    /// </summary>
    public async Task<IReadOnlyList<LockedSettlement>> StuckOnLockAsync(DateTimeOffset now, DateTimeOffset quietSince, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand($"""
            SELECT s.pool_id, s.updated_at, held.pid, a.application_name, host(a.client_addr), a.backend_start, a.state, a.state_change
            FROM settlements s
            JOIN ({HeldRunLocks}) held ON held.objid = hashtext(s.pool_id::text)::oid
            JOIN pg_stat_activity a ON a.pid = held.pid
            WHERE s.status IN ('due', 'running') AND s.next_attempt_at <= $1 AND s.updated_at <= $2 AND a.state_change <= $2
            ORDER BY s.updated_at
            """);
        command.Parameters.Add(Value(now));
        command.Parameters.Add(Value(quietSince));
        var stuck = new List<LockedSettlement>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            string? Text(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
            DateTimeOffset? At(int i) => reader.IsDBNull(i) ? null : reader.GetFieldValue<DateTimeOffset>(i);
            stuck.Add(new LockedSettlement(reader.GetGuid(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetInt32(2),
                Text(3), Text(4), At(5), Text(6), At(7)));
        }
        return stuck;
    }

    /// <summary>
    /// Writes why a due settlement does not run into last_error, leaving updated_at alone (it dates the last progress),
    /// unless it moved since <paramref name="quietSince"/> after all (a run started or paid a slice since it was read).
    /// False if the settlement finished or moved meanwhile, or already says exactly this.
    /// </summary>
    public async Task<bool> ExplainStuckAsync(Guid poolId, string error, DateTimeOffset quietSince, CancellationToken cancellationToken) =>
        await ExecuteAsync("""
            UPDATE settlements SET last_error = $2
            WHERE pool_id = $1 AND status IN ('due', 'running') AND updated_at <= $3 AND last_error IS DISTINCT FROM $2
            """, cancellationToken, poolId, error, quietSince) == 1;

    /// <summary>
    /// Clears the stuck-on-lock explanation (last_error starting <paramref name="reasonPrefix"/>) of unfinished settlements
    /// not in <paramref name="stillStuck"/>: their lock was freed, or their run moved. Answers how many it cleared.
    /// </summary>
    public Task<int> ClearStuckExplanationsAsync(string reasonPrefix, IEnumerable<Guid> stillStuck, CancellationToken cancellationToken) =>
        ExecuteAsync("""
            UPDATE settlements SET last_error = NULL
            WHERE status IN ('due', 'running') AND starts_with(last_error, $1) AND pool_id <> ALL($2)
            """, cancellationToken, reasonPrefix, stillStuck.ToArray());

    /// <summary>Marks a run as started, if the settlement is still runnable; the caller holds the pool's run lock.</summary>
    public async Task<SettlementRecord?> StartAsync(Guid poolId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand($"""
            UPDATE settlements SET status = 'running', attempts = attempts + 1, started_at = coalesce(started_at, $2), updated_at = $2
            WHERE pool_id = $1 AND status IN ('due', 'running') AND next_attempt_at <= $2
            RETURNING {Columns}
            """);
        command.Parameters.Add(Value(poolId));
        command.Parameters.Add(Value(now));
        return await ReadOneAsync(command, cancellationToken);
    }

    /// <summary>
    /// Remembers the pool's accepted bets as the first run saw them and answers whether this run sees the same. A
    /// rerun with other totals would pay other amounts than the first run already paid: it must stop instead.
    /// </summary>
    public async Task<bool> DeclareAsync(Guid poolId, string declaredTotals, long betCount, long totalMinor, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("""
            UPDATE settlements SET declared_totals = coalesce(declared_totals, $2), bet_count = coalesce(bet_count, $3), total_minor = coalesce(total_minor, $4)
            WHERE pool_id = $1
            RETURNING declared_totals
            """);
        command.Parameters.Add(Value(poolId));
        command.Parameters.Add(Value(declaredTotals));
        command.Parameters.Add(Value(betCount));
        command.Parameters.Add(Value(totalMinor));
        return await command.ExecuteScalarAsync(cancellationToken) is string stored && stored == declaredTotals;
    }

    /// <summary>Which of these bets an earlier run already settled (a rerun skips their payments).</summary>
    public async Task<HashSet<Guid>> SettledAmongAsync(Guid[] betIds, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("SELECT bet_id FROM settled_bets WHERE bet_id = ANY($1)");
        command.Parameters.Add(Value(betIds));
        var settled = new HashSet<Guid>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            settled.Add(reader.GetGuid(0));
        }
        return settled;
    }

    /// <summary>
    /// Records paid bets and, in the same transaction, BetsSettled events naming each bet recorded NOW: a bet recorded by an
    /// earlier (crashed) run is skipped by the primary key, so every bet is announced once. Answers the bets recorded now.
    /// </summary>
    public async Task<IReadOnlyList<SettledBetLine>> RecordSettledAsync(Guid poolId, IReadOnlyList<SettledBet> bets, DateTimeOffset settledAt, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var lines = new List<SettledBetLine>(bets.Count);
        await using (var insert = new NpgsqlCommand("""
            INSERT INTO settled_bets (bet_id, pool_id, user_id, result, stake_minor, payout_minor, settled_at)
            SELECT b.bet_id, $1, b.user_id, b.result, b.stake, b.payout, $2
            FROM unnest($3::uuid[], $4::uuid[], $5::text[], $6::bigint[], $7::bigint[]) WITH ORDINALITY AS b(bet_id, user_id, result, stake, payout, n)
            ORDER BY b.n
            ON CONFLICT (bet_id) DO NOTHING
            RETURNING bet_id, user_id, result, stake_minor, payout_minor
            """, connection, transaction))
        {
            insert.Parameters.Add(Value(poolId));
            insert.Parameters.Add(Value(settledAt));
            insert.Parameters.Add(Value(bets.Select(b => b.BetId).ToArray()));
            insert.Parameters.Add(Value(bets.Select(b => b.UserId).ToArray()));
            insert.Parameters.Add(Value(bets.Select(b => b.Result).ToArray()));
            insert.Parameters.Add(Value(bets.Select(b => b.StakeMinor).ToArray()));
            insert.Parameters.Add(Value(bets.Select(b => b.PayoutMinor).ToArray()));
            await using var reader = await insert.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                lines.Add(new SettledBetLine(reader.GetGuid(0), reader.GetGuid(1), reader.GetString(2), reader.GetInt64(3), reader.GetInt64(4)));
            }
        }

        if (lines.Count > 0)
        {
            await using var progress = new NpgsqlCommand("UPDATE settlements SET settled_bets = settled_bets + $2, updated_at = $3 WHERE pool_id = $1", connection, transaction);
            progress.Parameters.Add(Value(poolId));
            progress.Parameters.Add(Value((long)lines.Count));
            progress.Parameters.Add(Value(settledAt));
            await progress.ExecuteNonQueryAsync(cancellationToken);
            // Only the rows this transaction inserted are announced, so each bet is in exactly one BetsSettled.
            await outbox.AddRangeAsync(transaction, [.. lines.Chunk(BetsSettled.MaxBets).Select(chunk => new BetsSettled(poolId, chunk, settledAt))], cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        return lines;
    }

    /// <summary>Marks the settlement settled with its summary and writes PoolSettled, both once: false if it already was.</summary>
    public async Task<bool> CompleteAsync(Guid poolId, SettlementSummary summary, long escrowResidueMinor, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var update = new NpgsqlCommand("""
            UPDATE settlements
            SET status = 'settled', basis = $2, paid_minor = $3, rake_minor = $4, breakage_minor = $5, winning_bets = $6, refunded_bets = $7,
                escrow_residue_minor = $8, finished_at = $9, updated_at = $9, last_error = NULL
            WHERE pool_id = $1 AND status <> 'settled'
            """, connection, transaction))
        {
            update.Parameters.Add(Value(poolId));
            update.Parameters.Add(Value(summary.Basis));
            update.Parameters.Add(Value(summary.PaidMinor));
            update.Parameters.Add(Value(summary.RakeMinor));
            update.Parameters.Add(Value(summary.BreakageMinor));
            update.Parameters.Add(Value(summary.WinningBets));
            update.Parameters.Add(Value(summary.RefundedBets));
            update.Parameters.Add(Value(escrowResidueMinor));
            update.Parameters.Add(Value(now));
            if (await update.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                return false;
            }
        }

        await outbox.AddAsync(transaction, Announcement(poolId, summary, now), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    /// <summary>
    /// Writes a settled pool's PoolSettled again, with the values <see cref="CompleteAsync"/> wrote and its finish time,
    /// for a pool Pools still lists as unsettled: the first one was lost on the bus. Only if the settlement has not moved
    /// (finished, or was re-announced) since <paramref name="quietSince"/>, nor within as long again as it had been
    /// settled when it was last re-announced (10 min, 20, 40, ... after settling), and updated_at moves to
    /// <paramref name="now"/> in the same transaction: a Pools consumer that is merely behind, or stalled for hours, gets
    /// a few, not one per round, and replicas reconciling at once write it once. False if nothing was written.
    /// </summary>
    /// <remarks>
    /// BetsSettled is never announced again: Pools' leaderboard adds each event's nets once per event id, so a copy
    /// under a new id would count every bet twice.
    /// </remarks>
    public async Task<bool> ReannounceSettledAsync(Guid poolId, DateTimeOffset quietSince, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var update = new NpgsqlCommand("""
            UPDATE settlements SET updated_at = $3
            WHERE pool_id = $1 AND status = 'settled' AND updated_at <= $2 AND $3 - updated_at >= updated_at - finished_at
            RETURNING basis, total_minor, paid_minor, rake_minor, breakage_minor, bet_count, winning_bets, refunded_bets, finished_at
            """, connection, transaction);
        update.Parameters.Add(Value(poolId));
        update.Parameters.Add(Value(quietSince));
        update.Parameters.Add(Value(now));
        SettlementSummary summary;
        DateTimeOffset settledAt;
        await using (var reader = await update.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
            {
                return false;
            }
            summary = new SettlementSummary(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4),
                reader.GetInt64(5), reader.GetInt64(6), reader.GetInt64(7));
            settledAt = reader.GetFieldValue<DateTimeOffset>(8);
        }
        await outbox.AddAsync(transaction, Announcement(poolId, summary, settledAt), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    private static PoolSettled Announcement(Guid poolId, SettlementSummary summary, DateTimeOffset settledAt) =>
        new(poolId, summary.TotalMinor, summary.PaidMinor, summary.RakeMinor, summary.BreakageMinor,
            checked((int)summary.WinningBets), checked((int)summary.RefundedBets), settledAt);

    /// <summary>
    /// A transient failure: the run stays 'running' and is tried again at <paramref name="nextAttemptAt"/>. False if a
    /// newer run has the pool, and nothing was written.
    /// </summary>
    /// <remarks>
    /// Only for the run that started as <paramref name="attempt"/> (its <see cref="StartAsync"/> count, never reused, not
    /// even after a requeue), here and in <see cref="FailAsync"/>: a run whose lock session died meanwhile (a database
    /// failover) may still be writing how it ended while another replica's run of the pool is live, and must not stop or
    /// reschedule that one.
    /// </remarks>
    public async Task<bool> RetryLaterAsync(Guid poolId, int attempt, string error, DateTimeOffset nextAttemptAt, DateTimeOffset now, CancellationToken cancellationToken) =>
        await ExecuteAsync("UPDATE settlements SET last_error = $2, next_attempt_at = $3, updated_at = $4 WHERE pool_id = $1 AND status = 'running' AND attempts = $5",
            cancellationToken, poolId, error, nextAttemptAt, now, attempt) == 1;

    /// <summary>
    /// A failure no retry can fix: the run (still 'running') stops in 'failed' with the reason. A write of it sent again
    /// after its COMMIT's answer was lost finds the row 'failed', or 'due' if an operator requeued it meanwhile: neither
    /// is touched, so the requeue stands, and the answer is still true (this run's failure is recorded). False if a
    /// newer run has the pool, and nothing was written.
    /// </summary>
    public async Task<bool> FailAsync(Guid poolId, int attempt, string error, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // Only run `attempt` writes 'failed' at that number (a requeue keeps it, the next start moves it on), so the row at
        // that number and no longer running means this run's earlier write went through.
        await using var command = db.CreateCommand("""
            WITH failed AS (
                UPDATE settlements SET status = 'failed', last_error = $2, finished_at = $3, updated_at = $3
                WHERE pool_id = $1 AND status = 'running' AND attempts = $4
                RETURNING 1)
            SELECT EXISTS (SELECT FROM failed) OR EXISTS (SELECT FROM settlements WHERE pool_id = $1 AND attempts = $4 AND status <> 'running')
            """);
        command.Parameters.Add(Value(poolId));
        command.Parameters.Add(Value(error));
        command.Parameters.Add(Value(now));
        command.Parameters.Add(Value(attempt));
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>
    /// An operator sends a failed settlement back to run (after fixing its cause). False unless it was 'failed'. The old
    /// last_error goes: the console would show it beside 'due' or 'running' for the whole next run.
    /// </summary>
    /// <remarks>
    /// attempts keeps counting, so the next run's number was never used before: reset to 0, it would repeat an old run's,
    /// and that run's late outcome would pass the guard of <see cref="RetryLaterAsync"/> and <see cref="FailAsync"/>.
    /// attempts_before_requeue lets the backoff start small again.
    /// </remarks>
    public async Task<bool> RequeueAsync(Guid poolId, DateTimeOffset now, CancellationToken cancellationToken) =>
        await ExecuteAsync("""
            UPDATE settlements SET status = 'due', last_error = NULL, attempts_before_requeue = attempts, next_attempt_at = $2, requeued_at = $2, finished_at = NULL, updated_at = $2
            WHERE pool_id = $1 AND status = 'failed'
            """, cancellationToken, poolId, now) == 1;

    /// <summary>
    /// Settlements not finished yet (due or running) and when the oldest of them became due (its pool finished, or it was last requeued),
    /// how many stopped in 'failed' waiting for an operator, and how many settled with money left in their escrow.
    /// </summary>
    public async Task<SettlementBacklogCounts> BacklogAsync(CancellationToken cancellationToken)
    {
        // The statuses lead settlements_newest_by_status, so this reads only the unfinished and failed rows; the residues
        // come from their own partial index, not from the millions of settled rows.
        await using var command = db.CreateCommand("""
            SELECT count(*) FILTER (WHERE status <> 'failed'), min(coalesce(requeued_at, created_at)) FILTER (WHERE status <> 'failed'),
                   count(*) FILTER (WHERE status = 'failed'),
                   (SELECT count(*) FROM settlements WHERE escrow_residue_minor <> 0 AND status = 'settled')
            FROM settlements WHERE status IN ('due', 'running', 'failed')
            """);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new SettlementBacklogCounts(
            reader.GetInt64(0), reader.IsDBNull(1) ? null : reader.GetFieldValue<DateTimeOffset>(1), reader.GetInt64(2), reader.GetInt64(3));
    }

    private async Task<int> ExecuteAsync(string sql, CancellationToken cancellationToken, params object[] values)
    {
        await using var command = db.CreateCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<SettlementRecord?> ReadOneAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    private static SettlementRecord Read(NpgsqlDataReader reader)
    {
        T? Maybe<T>(int i) where T : struct => reader.IsDBNull(i) ? null : reader.GetFieldValue<T>(i);
        string? Text(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
        return new SettlementRecord(
            reader.GetGuid(0), reader.GetString(1), reader.GetString(2),
            reader.GetFieldValue<DateTimeOffset>(3), reader.GetFieldValue<DateTimeOffset>(4), reader.GetFieldValue<DateTimeOffset>(5),
            reader.GetInt32(6), Text(7), Maybe<DateTimeOffset>(8), Maybe<DateTimeOffset>(9), Text(10),
            Text(11), Maybe<long>(12), Maybe<long>(13), reader.GetInt64(14), Text(15),
            Maybe<long>(16), Maybe<long>(17), Maybe<long>(18), Maybe<long>(19), Maybe<long>(20), Maybe<long>(21), reader.GetInt32(22));
    }

    private static NpgsqlParameter<T> Value<T>(T value) => new() { TypedValue = value };
}
