using Npgsql;
using NpgsqlTypes;
using StreamBets.BetEngine.Placement;
using StreamBets.Contracts.IntegrationEvents;

namespace StreamBets.BetEngine.Data;

/// <summary>A pending bet together with the idempotency key it was placed with.</summary>
public sealed record KeyedBet(PendingBet Bet, string IdempotencyKey);

/// <summary>What the first write of a batch did: the row of each (user, key) it wrote, the bets whose key it did not
/// write, and the outcomes users already back.</summary>
/// <param name="NotWritten">A replay of a key already used, or any bet of a finished pool: <see cref="BetStore.ReadByKeysAsync"/>
/// tells which.</param>
public sealed record PendingWrite(
    IReadOnlyDictionary<(Guid UserId, string Key), BetRecord> RowsByKey,
    IReadOnlyList<KeyedBet> NotWritten,
    IReadOnlyDictionary<Guid, Guid> OutcomeByUser);

/// <summary>Why a pool is in <c>finished_pools</c> (the first reason recorded stays).</summary>
public static class PoolFinishReasons
{
    public const string Resolved = "resolved";
    public const string Cancelled = "cancelled";

    /// <summary>Pools no longer knows the pool (seen by recovery).</summary>
    public const string NotFound = "not-found";

    /// <summary>Settlement began its snapshot of the pool's bets before the Bet Engine heard the pool finished.</summary>
    public const string SettlementSnapshot = "settlement-snapshot";
}

/// <summary>What recovery still has to do, as read at one moment: the pending batches and the refunds due, with the
/// oldest of each (null when there is none).</summary>
public sealed record RecoveryBacklog(long PendingBatches, DateTimeOffset? OldestPendingWrittenAt, long RefundsDue, DateTimeOffset? OldestRefundDecidedAt);

/// <summary>One page of a user's bets, newest first.</summary>
public sealed record BetPage(IReadOnlyList<BetRecord> Bets, string? NextCursor);

public enum BetListFilter
{
    All,

    /// <summary>Pending or accepted, not yet settled.</summary>
    Open,

    Settled,
}

/// <summary>The bets tables in betsdb. Every method is one round trip or one short transaction, sized per batch, not per bet.</summary>
public sealed class BetStore(NpgsqlDataSource db)
{
    /// <summary>
    /// The pool gate: a per-pool advisory lock that every batch's pending write holds SHARED for its one implicit
    /// transaction, and that <see cref="CloseGateAsync"/> takes EXCLUSIVE before recording the pool finished. So a
    /// pending write either committed before the gate closed (and a snapshot begun afterwards sees its bets pending),
    /// or it sees the pool finished and writes nothing. The two-key form keeps these locks apart from the single-key
    /// ones (schema migration, the outbox relay's leader lock); a hash collision between two pools only costs a wait.
    /// </summary>
    private const string PoolGateKey = "1650812019, hashtext($1::text)"; // class 0x62657473, "bets" in ASCII

    /// <summary>Whether the pool ($1) is in finished_pools: one boolean row.</summary>
    internal const string PoolFinishedSql = "SELECT EXISTS (SELECT 1 FROM finished_pools WHERE pool_id = $1)";

    internal const string BetColumns =
        "b.bet_id, b.user_id, b.pool_id, b.outcome_id, b.stake_minor, b.status, b.placed_at, b.rejection_code, b.rejection_detail, s.result, s.payout_minor, s.settled_at";

    /// <summary>Bets with what settlement paid on them, for the <see cref="BetColumns"/> of a read.</summary>
    internal const string BetsWithSettlement = "bets b LEFT JOIN bet_settlements s ON s.bet_id = b.bet_id";

    /// <summary>
    /// The outcome each of the users $2 backs in pool $1: one primary-key lookup per user. The plain
    /// <c>pool_id = $1 AND user_id = ANY($2)</c> let the planner read every row of the pool and filter, whenever its
    /// statistics were older than the pool's rows (a new table, a fresh rush): 0.4 ms a batch for a 2,000-bettor pool,
    /// and growing with the pool (docs/machine-notes.md, session 30). LIMIT 1 keeps the subquery from being flattened.
    /// </summary>
    private const string OutcomesByUserSql = """
        SELECT u.user_id, o.outcome_id FROM unnest($2::uuid[]) AS u(user_id)
        CROSS JOIN LATERAL (SELECT outcome_id FROM pool_user_outcomes WHERE pool_id = $1 AND user_id = u.user_id LIMIT 1) o
        """;

    /// <summary>
    /// Writes the bets as pending in one implicit transaction, committed before any stake moves. A (user, key) that
    /// already names a bet is left as it is and listed in <see cref="PendingWrite.NotWritten"/>: the caller reads those
    /// back (<see cref="ReadByKeysAsync"/>), after the commit, so a failure there leaves the new bets committed and
    /// theirs to go on with. Also reads which outcome each user already backs in the pool.
    /// If the pool is finished (in <c>finished_pools</c>), no new bet is written: nothing may move into its escrow any
    /// more, and every bet of the batch is in <see cref="PendingWrite.NotWritten"/>. The check holds the pool gate, so it cannot miss a settlement snapshot that begins.
    /// </summary>
    public async Task<PendingWrite> WritePendingAsync(Guid poolId, IReadOnlyList<KeyedBet> bets, DateTimeOffset writtenAt, CancellationToken cancellationToken)
    {
        var n = bets.Count;
        var betIds = new Guid[n];
        var userIds = new Guid[n];
        var keys = new string[n];
        var outcomeIds = new Guid[n];
        var stakes = new long[n];
        var transferIds = new Guid[n];
        var placedAt = new DateTimeOffset[n];
        for (var i = 0; i < n; i++)
        {
            var (bet, key) = bets[i];
            betIds[i] = bet.BetId;
            userIds[i] = bet.UserId;
            keys[i] = key;
            outcomeIds[i] = bet.OutcomeId;
            stakes[i] = bet.StakeMinor;
            transferIds[i] = bet.StakeTransferId;
            placedAt[i] = bet.PlacedAt;
        }

        await using var batch = db.CreateBatch();
        // The gate first, in a statement of its own: under READ COMMITTED each later statement takes its snapshot after
        // the lock is held, so none can miss a finished_pools row committed while this one waited.
        batch.BatchCommands.Add(Command($"SELECT pg_advisory_xact_lock_shared({PoolGateKey})", poolId));
        // The bets written are recorded as one pending batch, which recovery and Settlement look for. (Their open_bets
        // rows are written by a trigger, 007.)
        batch.BatchCommands.Add(Command("""
            WITH written AS (
                INSERT INTO bets (bet_id, user_id, idempotency_key, pool_id, outcome_id, stake_minor, stake_transfer_id, status, placed_at, written_at)
                SELECT b.bet_id, b.user_id, b.key, $4, b.outcome_id, b.stake, b.transfer_id, 'pending', b.placed_at, $9
                FROM unnest($1::uuid[], $2::uuid[], $3::text[], $5::uuid[], $6::bigint[], $7::uuid[], $8::timestamptz[])
                     AS b(bet_id, user_id, key, outcome_id, stake, transfer_id, placed_at)
                WHERE NOT EXISTS (SELECT 1 FROM finished_pools WHERE pool_id = $4)
                ON CONFLICT (user_id, idempotency_key) DO NOTHING
                RETURNING bet_id),
            pending AS (
                INSERT INTO pending_batches (batch_id, pool_id, written_at, bet_ids)
                SELECT $10, $4, $9, array_agg(bet_id) FROM written HAVING count(*) > 0)
            SELECT bet_id FROM written
            """, betIds, userIds, keys, poolId, outcomeIds, stakes, transferIds, placedAt, writtenAt, Guid.CreateVersion7(writtenAt)));
        batch.BatchCommands.Add(Command(OutcomesByUserSql, poolId, userIds.Distinct().ToArray()));

        var written = new HashSet<Guid>(n);
        var outcomes = new Dictionary<Guid, Guid>();
        // The reader starts at the lock's (void) row.
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
        {
            await reader.NextResultAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                written.Add(reader.GetGuid(0));
            }
            await reader.NextResultAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                outcomes[reader.GetGuid(0)] = reader.GetGuid(1);
            }
        }

        var rows = new Dictionary<(Guid, string), BetRecord>(n);
        var notWritten = new List<KeyedBet>();
        foreach (var keyed in bets)
        {
            if (written.Contains(keyed.Bet.BetId))
            {
                rows[(keyed.Bet.UserId, keyed.IdempotencyKey)] = keyed.Bet.ToRecord(BetStatus.Pending);
            }
            else
            {
                notWritten.Add(keyed);
            }
        }
        return new PendingWrite(rows, notWritten, outcomes);
    }

    /// <summary>
    /// The bets stored under these (user, key)s, for the keys a pending write did not write: one round trip, only when
    /// there are any. Reading every key back in the pending write cost a tenth of betsdb's work per bet in a rush, where
    /// replays are rare.
    /// </summary>
    public async Task<IReadOnlyDictionary<(Guid UserId, string Key), BetRecord>> ReadByKeysAsync(IReadOnlyList<KeyedBet> bets, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand($"""
            SELECT {BetColumns}, b.idempotency_key
            FROM {BetsWithSettlement} JOIN unnest($1::uuid[], $2::text[]) AS k(user_id, key) ON b.user_id = k.user_id AND b.idempotency_key = k.key
            """);
        command.Parameters.Add(Value(bets.Select(b => b.Bet.UserId).ToArray()));
        command.Parameters.Add(Value(bets.Select(b => b.IdempotencyKey).ToArray()));
        var rows = new Dictionary<(Guid, string), BetRecord>(bets.Count);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var record = ReadBet(reader);
            rows[(record.UserId, reader.GetString(12))] = record;
        }
        return rows;
    }

    /// <summary>Records that no stake may enter the pool any more (the first reason stays), in the caller's transaction.
    /// Pending writes in flight are not waited for: use <see cref="CloseGateAsync"/> where that matters.</summary>
    public static async Task MarkFinishedAsync(NpgsqlTransaction transaction, Guid poolId, string reason, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(MarkFinishedSql, transaction.Connection, transaction);
        AddFinishedParameters(command.Parameters, poolId, reason, at);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Records that no stake may enter the pool any more, on its own (see the overload above).</summary>
    public async Task MarkFinishedAsync(Guid poolId, string reason, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand(MarkFinishedSql);
        AddFinishedParameters(command.Parameters, poolId, reason, at);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Takes the pool gate exclusively (waiting for every pending write of the pool in flight) and records the pool
    /// finished. Once this returns, every pending write of the pool either committed before or writes nothing: a
    /// snapshot begun afterwards sees every bet whose stake may still move into the escrow.
    /// </summary>
    public async Task CloseGateAsync(Guid poolId, string reason, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var batch = db.CreateBatch();
        batch.BatchCommands.Add(Command($"SELECT pg_advisory_xact_lock({PoolGateKey})", poolId));
        var mark = new NpgsqlBatchCommand(MarkFinishedSql);
        AddFinishedParameters(mark.Parameters, poolId, reason, at);
        batch.BatchCommands.Add(mark);
        // One implicit transaction: the lock is held until the row has committed.
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    private const string MarkFinishedSql =
        "INSERT INTO finished_pools (pool_id, reason, finished_at) VALUES ($1, $2, $3) ON CONFLICT (pool_id) DO NOTHING";

    private static void AddFinishedParameters(NpgsqlParameterCollection parameters, Guid poolId, string reason, DateTimeOffset at)
    {
        parameters.Add(Value(poolId));
        parameters.Add(Value(reason));
        parameters.Add(Value(at));
    }

    public async Task<BetRecord?> FindByKeyAsync(Guid userId, string idempotencyKey, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand($"SELECT {BetColumns} FROM {BetsWithSettlement} WHERE b.user_id = $1 AND b.idempotency_key = $2");
        command.Parameters.Add(Value(userId));
        command.Parameters.Add(Value(idempotencyKey));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadBet(reader) : null;
    }

    public async Task<BetRecord?> GetAsync(Guid betId, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand($"SELECT {BetColumns} FROM {BetsWithSettlement} WHERE b.bet_id = $1");
        command.Parameters.Add(Value(betId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadBet(reader) : null;
    }

    /// <summary>The outcome each of these users backs in the pool, if any.</summary>
    public async Task<IReadOnlyDictionary<Guid, Guid>> OutcomesByUserAsync(Guid poolId, IReadOnlyCollection<Guid> userIds, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand(OutcomesByUserSql);
        command.Parameters.Add(Value(poolId));
        command.Parameters.Add(Value(userIds.ToArray()));
        var outcomes = new Dictionary<Guid, Guid>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            outcomes[reader.GetGuid(0)] = reader.GetGuid(1);
        }
        return outcomes;
    }

    /// <summary>Bets still pending that their batch wrote before <paramref name="writtenBefore"/>, unclaimed by recovery
    /// since then, in placement order.</summary>
    public Task<IReadOnlyList<PendingBet>> PendingAsync(DateTimeOffset writtenBefore, int limit, CancellationToken cancellationToken) =>
        ReadPendingBetsAsync("""
            SELECT b.bet_id, b.user_id, b.pool_id, b.outcome_id, b.stake_minor, b.placed_at
            FROM pending_batches p CROSS JOIN LATERAL unnest(p.bet_ids) AS u(bet_id) JOIN bets b ON b.bet_id = u.bet_id
            WHERE p.written_at < $1 AND b.status = 'pending' AND (b.recovery_claimed_at IS NULL OR b.recovery_claimed_at < $1)
            ORDER BY b.placed_at, b.bet_id LIMIT $2
            """, cancellationToken, writtenBefore, limit);

    /// <summary>
    /// Claims for recovery, in a commit of its own, those of the bets that are still pending and not claimed since
    /// <paramref name="claimedBefore"/>; returns their ids. A live finalize leaves a claimed bet pending
    /// (<see cref="Placement.BatchFinalizer"/>), so a bet it decided first is never claimed, and one claimed first is
    /// decided by recovery alone. Rows are locked in bet_id order, as the finalize locks them.
    /// </summary>
    public async Task<IReadOnlySet<Guid>> ClaimForRecoveryAsync(
        IReadOnlyCollection<Guid> betIds, DateTimeOffset claimedAt, DateTimeOffset claimedBefore, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("""
            WITH claimable AS (
                SELECT bet_id FROM bets
                WHERE bet_id = ANY($1) AND status = 'pending' AND (recovery_claimed_at IS NULL OR recovery_claimed_at < $3)
                ORDER BY bet_id FOR UPDATE)
            UPDATE bets b SET recovery_claimed_at = $2 FROM claimable c WHERE b.bet_id = c.bet_id RETURNING b.bet_id
            """);
        command.Parameters.Add(Value(betIds.ToArray()));
        command.Parameters.Add(Value(claimedAt));
        command.Parameters.Add(Value(claimedBefore));
        var claimed = new HashSet<Guid>(betIds.Count);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            claimed.Add(reader.GetGuid(0));
        }
        return claimed;
    }

    /// <summary>
    /// Deletes the pending batches written before <paramref name="writtenBefore"/> that hold no pending bet any more:
    /// two finalizers that decided the last bets of one batch at the same moment can each leave its row to the other.
    /// </summary>
    public async Task DeleteDecidedBatchesAsync(DateTimeOffset writtenBefore, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand($"DELETE FROM pending_batches p WHERE p.written_at < $1 AND {NoPendingBetIn("p")}");
        command.Parameters.Add(Value(writtenBefore));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>True when no bet of the pending batch <paramref name="alias"/> is pending any more.</summary>
    internal static string NoPendingBetIn(string alias) =>
        $"NOT EXISTS (SELECT 1 FROM unnest({alias}.bet_ids) AS u(bet_id) JOIN bets b ON b.bet_id = u.bet_id WHERE b.status = 'pending')";

    /// <summary>
    /// Rejected bets whose stake moved and has not been given back yet, decided before <paramref name="decidedBefore"/>
    /// and not waiting after a refusal (<see cref="DeferRefusedRefundsAsync"/>) beyond <paramref name="now"/>; those whose
    /// try is due first come first. Before 009 they were taken oldest decided first, so refunds the ledger kept refusing
    /// stayed at the head of every round's list and, past a round's limit, starved the rest. Read through the partial
    /// index of the refunds due (bets_refund_due), which holds only them; the sort is over those few rows.
    /// </summary>
    public Task<IReadOnlyList<PendingBet>> RefundsDueAsync(DateTimeOffset decidedBefore, DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        ReadPendingBetsAsync("""
            SELECT bet_id, user_id, pool_id, outcome_id, stake_minor, placed_at FROM bets
            WHERE refund_status = 'due' AND decided_at < $1 AND (refund_retry_at IS NULL OR refund_retry_at <= $2)
            ORDER BY coalesce(refund_retry_at, decided_at), bet_id LIMIT $3
            """, cancellationToken, decidedBefore, now, limit);

    /// <summary>Wait after the ledger's first refusal of a refund; it doubles with each refusal, up to <see cref="RefundRetryMaxWait"/>.</summary>
    public static readonly TimeSpan RefundRetryFirstWait = TimeSpan.FromSeconds(30);

    public static readonly TimeSpan RefundRetryMaxWait = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Puts off the next try of refunds the ledger refused (it stores no refused transfer, so the same derived id may
    /// still apply later, once): 30 s after the first refusal, doubling, at most 10 min. The refunds stay 'due'
    /// (Settlement still waits for them, and the backlog gauges count them); only their place in recovery's list moves.
    /// </summary>
    public async Task DeferRefusedRefundsAsync(IReadOnlyCollection<Guid> betIds, DateTimeOffset refusedAt, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("""
            UPDATE bets SET refund_attempts = refund_attempts + 1,
                refund_retry_at = $2 + least($4::interval, $3::interval * power(2, least(refund_attempts, 20)))
            WHERE bet_id = ANY($1) AND refund_status = 'due'
            """);
        command.Parameters.Add(Value(betIds.ToArray()));
        command.Parameters.Add(Value(refusedAt));
        command.Parameters.Add(Value(RefundRetryFirstWait));
        command.Parameters.Add(Value(RefundRetryMaxWait));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// The backlog recovery owns, in one round trip: pending batches (a small table: a row lives from a batch's pending
    /// write to its finalize, milliseconds, unless the batch failed) and refunds due (through their partial index).
    /// </summary>
    public async Task<RecoveryBacklog> ReadRecoveryBacklogAsync(CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("""
            SELECT p.batches, p.oldest, r.refunds, r.oldest
            FROM (SELECT count(*) AS batches, min(written_at) AS oldest FROM pending_batches) p,
                 (SELECT count(*) AS refunds, min(decided_at) AS oldest FROM bets WHERE refund_status = 'due') r
            """);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new RecoveryBacklog(
            reader.GetInt64(0), reader.IsDBNull(1) ? null : reader.GetFieldValue<DateTimeOffset>(1),
            reader.GetInt64(2), reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3));
    }

    public async Task MarkRefundedAsync(IReadOnlyCollection<Guid> betIds, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("UPDATE bets SET refund_status = 'done' WHERE bet_id = ANY($1) AND refund_status = 'due'");
        command.Parameters.Add(Value(betIds.ToArray()));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Pools with accepted bets that are not finished: the ones whose odds can still move.</summary>
    public async Task<IReadOnlyList<Guid>> UnfinishedPoolsWithBetsAsync(CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("""
            SELECT DISTINCT t.pool_id FROM pool_outcome_totals t
            WHERE NOT EXISTS (SELECT 1 FROM finished_pools f WHERE f.pool_id = t.pool_id)
            """);
        var pools = new List<Guid>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            pools.Add(reader.GetGuid(0));
        }
        return pools;
    }

    /// <summary>Accepted stakes per outcome of each pool.</summary>
    public async Task<IReadOnlyDictionary<Guid, List<(Guid OutcomeId, long StakedMinor, long BetCount)>>> TotalsAsync(
        NpgsqlTransaction transaction, IReadOnlyCollection<Guid> poolIds, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "SELECT pool_id, outcome_id, staked_minor, bet_count FROM pool_outcome_totals WHERE pool_id = ANY($1) ORDER BY pool_id, outcome_id",
            transaction.Connection, transaction);
        command.Parameters.Add(Value(poolIds.ToArray()));
        var totals = new Dictionary<Guid, List<(Guid, long, long)>>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var poolId = reader.GetGuid(0);
            if (!totals.TryGetValue(poolId, out var outcomes))
            {
                totals[poolId] = outcomes = [];
            }
            outcomes.Add((reader.GetGuid(1), reader.GetInt64(2), reader.GetInt64(3)));
        }
        return totals;
    }

    /// <summary>A user's bets (on one pool when <paramref name="poolId"/> is given), newest first, <paramref name="limit"/> at a time.</summary>
    public async Task<BetPage> ListForUserAsync(Guid userId, BetListFilter filter, Guid? poolId, PageCursor? after, int limit, CancellationToken cancellationToken)
    {
        // Open bets are walked in open_bets, so the read costs the user's open bets, not their whole history. The status
        // filter costs nothing (the bet and its settlement are read anyway) and hides a row 008 may have left behind.
        var (from, key, condition) = filter switch
        {
            BetListFilter.Open => (
                "open_bets o JOIN bets b ON b.bet_id = o.bet_id LEFT JOIN bet_settlements s ON s.bet_id = b.bet_id",
                "o",
                "AND b.status IN ('pending', 'accepted') AND s.bet_id IS NULL"),
            BetListFilter.Settled => (BetsWithSettlement, "b", "AND s.bet_id IS NOT NULL"),
            _ => (BetsWithSettlement, "b", ""),
        };
        await using var command = db.CreateCommand($"""
            SELECT {BetColumns} FROM {from}
            WHERE {key}.user_id = $1 AND ({key}.placed_at, {key}.bet_id) < ($2, $3) AND ($5::uuid IS NULL OR b.pool_id = $5) {condition}
            ORDER BY {key}.placed_at DESC, {key}.bet_id DESC
            LIMIT $4
            """);
        command.Parameters.Add(Value(userId));
        command.Parameters.Add(Value(after?.At ?? DateTimeOffset.MaxValue));
        command.Parameters.Add(Value(after?.Id ?? Guid.Empty));
        command.Parameters.Add(Value(limit + 1));
        command.Parameters.Add(new NpgsqlParameter<Guid?> { TypedValue = poolId, NpgsqlDbType = NpgsqlDbType.Uuid });

        var bets = new List<BetRecord>(limit + 1);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            bets.Add(ReadBet(reader));
        }

        // One row beyond the limit says whether another page exists, without a count query.
        if (bets.Count <= limit)
        {
            return new BetPage(bets, null);
        }
        bets.RemoveAt(limit);
        return new BetPage(bets, new PageCursor(bets[^1].PlacedAt, bets[^1].BetId).ToString());
    }

    /// <summary>Records what settlement paid on each bet, in one statement (a trigger takes the bets off open_bets, 007);
    /// a redelivered BetsSettled changes nothing.</summary>
    public static async Task MarkSettledAsync(NpgsqlTransaction transaction, BetsSettled settled, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            INSERT INTO bet_settlements (bet_id, result, payout_minor, settled_at)
            SELECT s.bet_id, s.result, s.payout, $4 FROM unnest($1::uuid[], $2::text[], $3::bigint[]) AS s(bet_id, result, payout)
            ON CONFLICT (bet_id) DO NOTHING
            """, transaction.Connection, transaction);
        command.Parameters.Add(Value(settled.Bets.Select(b => b.BetId).ToArray()));
        command.Parameters.Add(Value(settled.Bets.Select(b => b.Result).ToArray()));
        command.Parameters.Add(Value(settled.Bets.Select(b => b.PayoutMinor).ToArray()));
        command.Parameters.Add(Value(settled.SettledAt));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    internal static BetRecord ReadBet(NpgsqlDataReader reader) => new(
        reader.GetGuid(0),
        reader.GetGuid(1),
        reader.GetGuid(2),
        reader.GetGuid(3),
        reader.GetInt64(4),
        reader.GetString(5) switch
        {
            "accepted" => BetStatus.Accepted,
            "rejected" => BetStatus.Rejected,
            _ => BetStatus.Pending,
        },
        reader.GetFieldValue<DateTimeOffset>(6),
        reader.IsDBNull(7) ? null : new BetRejection(reader.GetString(7), reader.IsDBNull(8) ? "" : reader.GetString(8)),
        reader.IsDBNull(9) ? null : new BetSettlement(reader.GetString(9), reader.IsDBNull(10) ? 0 : reader.GetInt64(10), reader.GetFieldValue<DateTimeOffset>(11)));

    internal static string StatusText(BetStatus status) => status switch
    {
        BetStatus.Accepted => "accepted",
        BetStatus.Rejected => "rejected",
        _ => "pending",
    };

    private async Task<IReadOnlyList<PendingBet>> ReadPendingBetsAsync(string sql, CancellationToken cancellationToken, params object[] values)
    {
        await using var command = db.CreateCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }
        var bets = new List<PendingBet>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            bets.Add(new PendingBet(reader.GetGuid(0), reader.GetGuid(1), reader.GetGuid(2), reader.GetGuid(3), reader.GetInt64(4), reader.GetFieldValue<DateTimeOffset>(5)));
        }
        return bets;
    }

    internal static NpgsqlBatchCommand Command(string sql, params object[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }
        return command;
    }

    internal static NpgsqlParameter<T> Value<T>(T value) => new() { TypedValue = value };
}
