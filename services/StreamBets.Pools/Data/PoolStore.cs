using Npgsql;
using NpgsqlTypes;
using StreamBets.Contracts;
using StreamBets.Pools.Lifecycle;
using StreamBets.Pools.Management;

namespace StreamBets.Pools.Data;

/// <summary>The stakes on one outcome as counted from BetsPlaced events.</summary>
public sealed record OutcomeStakeRow(Guid OutcomeId, long StakedMinor, int BetCount);

/// <summary>A channel with live pools, for players browsing what they can bet on.</summary>
public sealed record LiveChannel(Channel Channel, int LivePools, int OpenPools, DateTimeOffset? NextLockAt);

/// <summary>A pool due to be locked or cancelled, with the time the sweeper's query orders it by (its place to page on from).</summary>
public sealed record DuePool(Guid Id, DateTimeOffset DueAt);

/// <summary>Pools the sweeper has not locked or cancelled by some time: how many of each, and when the longest-waiting one was due.</summary>
public sealed record OverduePools(long Locks, DateTimeOffset? OldestLockDueAt, long Cancels, DateTimeOffset? OldestCancelDueAt);

/// <summary>A resolved or cancelled pool that no PoolSettled has marked paid out yet.</summary>
public sealed record UnsettledPoolRow(Guid Id, PoolState State, DateTimeOffset ClosedAt);

/// <summary>Pools in poolsdb, with raw Npgsql: one row per pool, one per outcome, and a version for optimistic concurrency.</summary>
public sealed class PoolStore(NpgsqlDataSource database)
{
    private const string SelectPools = """
        SELECT p.id, p.channel_provider, p.channel_id, p.created_by, p.template_id, p.title, p.betting_window,
               p.min_stake_minor, p.max_stake_minor, p.rake_bps, p.state, p.exclusive, p.created_at, p.opened_at,
               p.locks_at, p.locked_at, p.closed_at, p.winning_outcome_ids, p.cancellation_reason, p.cancelled_by_role,
               p.version, o.ids, o.labels, p.settled_at, p.auto_cancel_after, p.abandons_at
        FROM pools p
        CROSS JOIN LATERAL (
            SELECT array_agg(id ORDER BY position) AS ids, array_agg(label::text ORDER BY position) AS labels
            FROM pool_outcomes WHERE pool_id = p.id) o
        """;

    public async Task<StoredPool?> FindAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand($"{SelectPools} WHERE p.id = $1");
        command.Parameters.AddWithValue(id);
        return (await ReadAsync(command, cancellationToken)).SingleOrDefault();
    }

    /// <summary>The pools of these ids that exist, in no particular order.</summary>
    public async Task<IReadOnlyList<StoredPool>> FindManyAsync(Guid[] ids, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand($"{SelectPools} WHERE p.id = ANY($1)");
        command.Parameters.AddWithValue(ids);
        return await ReadAsync(command, cancellationToken);
    }

    /// <summary>Open and locked pools of a channel, soonest lock first, at most <paramref name="limit"/> (a channel whose
    /// streamer may run several pools at once must not make every viewer's read unbounded).</summary>
    public async Task<IReadOnlyList<StoredPool>> LiveAsync(Channel channel, int limit, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(
            $"{SelectPools} WHERE p.channel_provider = $1 AND p.channel_id = $2 AND p.state IN ('open', 'locked') ORDER BY p.locks_at, p.id LIMIT $3");
        command.Parameters.AddWithValue(channel.Provider);
        command.Parameters.AddWithValue(channel.ChannelId);
        command.Parameters.AddWithValue(limit);
        return await ReadAsync(command, cancellationToken);
    }

    /// <summary>Open and locked pools of every channel, soonest lock first (by the partial indexes on live pools): the operators' view.</summary>
    public async Task<IReadOnlyList<StoredPool>> AllLiveAsync(int limit, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand($"{SelectPools} WHERE p.state IN ('open', 'locked') ORDER BY p.locks_at, p.id LIMIT $1");
        command.Parameters.AddWithValue(limit);
        return await ReadAsync(command, cancellationToken);
    }

    /// <summary>Resolved and cancelled pools of a channel, most recently closed first.</summary>
    public async Task<IReadOnlyList<StoredPool>> FinishedAsync(Channel channel, int limit, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand($"""
            {SelectPools}
            WHERE p.channel_provider = $1 AND p.channel_id = $2 AND p.state IN ('resolved', 'cancelled')
            ORDER BY p.closed_at DESC, p.id DESC
            LIMIT $3
            """);
        command.Parameters.AddWithValue(channel.Provider);
        command.Parameters.AddWithValue(channel.ChannelId);
        command.Parameters.AddWithValue(limit);
        return await ReadAsync(command, cancellationToken);
    }

    /// <summary>
    /// Channels with at least one open or locked pool, most recently opened first (by the partial index on live pools),
    /// with how many are live, how many still take bets, and when the next one locks.
    /// </summary>
    public async Task<IReadOnlyList<LiveChannel>> LiveChannelsAsync(int limit, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            SELECT channel_provider, channel_id, count(*)::int, (count(*) FILTER (WHERE state = 'open'))::int,
                   min(locks_at) FILTER (WHERE state = 'open')
            FROM pools WHERE state IN ('open', 'locked')
            GROUP BY channel_provider, channel_id
            ORDER BY max(opened_at) DESC NULLS LAST, channel_provider, channel_id
            LIMIT $1
            """);
        command.Parameters.AddWithValue(limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var channels = new List<LiveChannel>();
        while (await reader.ReadAsync(cancellationToken))
        {
            channels.Add(new LiveChannel(new Channel(reader.GetString(0), reader.GetString(1)), reader.GetInt32(2), reader.GetInt32(3), NullableTime(reader, 4)));
        }

        return channels;
    }

    /// <summary>
    /// Open pools whose window has ended (by the partial index on locks_at), in (locks_at, id) order: the page after
    /// <paramref name="after"/>, or the first. The sweeper pages on from the last pool it read rather than asking again
    /// from the start, so pools it cannot lock (still due, still first) do not hide the pools behind them.
    /// </summary>
    public Task<IReadOnlyList<DuePool>> DueForLockAsync(DateTimeOffset now, DuePool? after, int limit, CancellationToken cancellationToken) =>
        DuePageAsync(DueForLockSql, "locks_at", now, null, after, limit, cancellationToken);

    internal const string DueForLockSql =
        "SELECT id, locks_at FROM pools WHERE state = 'open' AND locks_at <= $1 {0} ORDER BY locks_at, id LIMIT $3";

    /// <summary>
    /// Locked pools whose deadline (abandons_at) has passed, through its partial index, in (abandons_at, id) order: the
    /// page after <paramref name="after"/>, or the first.
    /// </summary>
    public Task<IReadOnlyList<DuePool>> DueForAutoCancelAsync(DateTimeOffset now, DuePool? after, int limit, CancellationToken cancellationToken) =>
        DuePageAsync(DueForAutoCancelSql, "abandons_at", now, null, after, limit, cancellationToken);

    internal const string DueForAutoCancelSql =
        "SELECT id, abandons_at FROM pools WHERE state = 'locked' AND abandons_at <= $1 {0} ORDER BY abandons_at, id LIMIT $3";

    /// <summary>
    /// Locked pools without a deadline written whose lock time plus their own term (or <paramref name="termIfNone"/>, the
    /// configured one, for pools stored without a term; none when it is null) has passed, in (locked_at, id) order. A pool
    /// has no deadline written when it was stored before schema 012, or locked by a replica still running the code before
    /// it (during a rolling deploy): this partial index holds only those, a handful.
    /// </summary>
    public Task<IReadOnlyList<DuePool>> DueForAutoCancelWithoutDeadlineAsync(
        DateTimeOffset now, TimeSpan? termIfNone, DuePool? after, int limit, CancellationToken cancellationToken) =>
        DuePageAsync(DueForAutoCancelWithoutDeadlineSql, "locked_at", now, termIfNone, after, limit, cancellationToken);

    internal const string DueForAutoCancelWithoutDeadlineSql = """
        SELECT id, locked_at FROM pools WHERE state = 'locked' AND abandons_at IS NULL AND locked_at + COALESCE(auto_cancel_after, $2) <= $1 {0}
        ORDER BY locked_at, id LIMIT $3
        """;

    /// <summary>
    /// The keyset condition for a next page, in the column each query orders by: the explicit lower bound on the time lets
    /// the partial index on that time start the scan at the cursor (a row comparison alone is only a filter on an index of
    /// one column); the row comparison then skips the pools of the same time already read.
    /// </summary>
    internal static string NextPage(string sql, string timeColumn) => string.Format(sql, $"AND {timeColumn} >= $4 AND ({timeColumn}, id) > ($4, $5)");

    internal static string FirstPage(string sql) => string.Format(sql, "");

    private async Task<IReadOnlyList<DuePool>> DuePageAsync(
        string sql, string timeColumn, DateTimeOffset now, TimeSpan? termIfNone, DuePool? after, int limit, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(after is null ? FirstPage(sql) : NextPage(sql, timeColumn));
        command.Parameters.AddWithValue(now);
        command.Parameters.Add(new NpgsqlParameter { Value = termIfNone is { } term ? term : DBNull.Value, NpgsqlDbType = NpgsqlDbType.Interval });
        command.Parameters.AddWithValue(limit);
        if (after is not null)
        {
            command.Parameters.AddWithValue(after.DueAt);
            command.Parameters.AddWithValue(after.Id);
        }

        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var due = new List<DuePool>();
        while (await reader.ReadAsync(cancellationToken))
        {
            due.Add(new DuePool(reader.GetGuid(0), reader.GetFieldValue<DateTimeOffset>(1)));
        }

        return due;
    }

    /// <summary>
    /// Open pools still open past their lock time, and locked pools still locked past their auto-cancel time, as of
    /// <paramref name="dueBefore"/>: how many and the earliest such time, each through the sweeper's own partial indexes
    /// (so it reads only the overdue pools: none while the sweeper keeps up). One round trip.
    /// </summary>
    public async Task<OverduePools> OverdueAsync(DateTimeOffset dueBefore, TimeSpan? termIfNone, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(OverdueSql);
        command.Parameters.AddWithValue(dueBefore);
        command.Parameters.Add(new NpgsqlParameter { Value = termIfNone is { } term ? term : DBNull.Value, NpgsqlDbType = NpgsqlDbType.Interval });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new OverduePools(
            reader.GetInt64(0), NullableTime(reader, 1),
            reader.GetInt64(2) + reader.GetInt64(4), Earliest(NullableTime(reader, 3), NullableTime(reader, 5)));
    }

    private static DateTimeOffset? Earliest(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : a < b ? a : b;

    internal const string OverdueSql = """
        SELECT l.n, l.oldest, d.n, d.oldest, u.n, u.oldest
        FROM (SELECT count(*) AS n, min(locks_at) AS oldest FROM pools WHERE state = 'open' AND locks_at <= $1) l,
             (SELECT count(*) AS n, min(abandons_at) AS oldest FROM pools WHERE state = 'locked' AND abandons_at <= $1) d,
             (SELECT count(*) AS n, min(locked_at + COALESCE(auto_cancel_after, $2)) AS oldest FROM pools
              WHERE state = 'locked' AND abandons_at IS NULL AND locked_at + COALESCE(auto_cancel_after, $2) <= $1) u
        """;

    /// <summary>
    /// Whether the channel has an open or locked pool, by the partial index on live pools. No pool is stored as a draft
    /// (one is opened as it is created), and naming 'draft' here kept the planner off that index: every creation read
    /// every finished pool of every channel, with the channel's owner row locked.
    /// </summary>
    public async Task<bool> ChannelHasActivePoolAsync(NpgsqlTransaction transaction, Channel channel, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(ChannelHasActivePoolSql, transaction.Connection, transaction);
        command.Parameters.AddWithValue(channel.Provider);
        command.Parameters.AddWithValue(channel.ChannelId);
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    internal const string ChannelHasActivePoolSql =
        "SELECT EXISTS (SELECT 1 FROM pools WHERE channel_provider = $1 AND channel_id = $2 AND state IN ('open', 'locked'))";

    /// <summary>Inserts the pool with its outcomes; <paramref name="key"/>, when the request had one, goes on the row.</summary>
    public async Task InsertAsync(NpgsqlTransaction transaction, StoredPool stored, PoolCreationKey? key, CancellationToken cancellationToken)
    {
        var pool = stored.Pool;
        await using var batch = new NpgsqlBatch(transaction.Connection, transaction);
        var insert = new NpgsqlBatchCommand("""
            INSERT INTO pools (id, channel_provider, channel_id, created_by, template_id, title, betting_window, min_stake_minor,
                               max_stake_minor, rake_bps, state, exclusive, created_at, opened_at, locks_at, version, auto_cancel_after,
                               idempotency_key, request_hash)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
            """);
        Add(insert, pool.Id);
        Add(insert, stored.Channel.Provider);
        Add(insert, stored.Channel.ChannelId);
        Add(insert, stored.CreatedBy);
        Add(insert, stored.TemplateId);
        Add(insert, pool.Title);
        Add(insert, pool.BettingWindow);
        Add(insert, pool.MinStake.MinorUnits);
        Add(insert, pool.MaxStake.MinorUnits);
        Add(insert, pool.RakeBasisPoints);
        Add(insert, StateName(pool.State));
        Add(insert, stored.Exclusive);
        Add(insert, stored.CreatedAt);
        Add(insert, pool.OpenedAt);
        Add(insert, pool.LocksAt);
        Add(insert, stored.Version);
        insert.Parameters.Add(new NpgsqlParameter { Value = pool.AutoCancelAfter is { } term ? term : DBNull.Value, NpgsqlDbType = NpgsqlDbType.Interval });
        insert.Parameters.Add(new NpgsqlParameter { Value = (object?)key?.Key ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        insert.Parameters.Add(new NpgsqlParameter { Value = (object?)key?.RequestHash ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bytea });
        batch.BatchCommands.Add(insert);

        var outcomes = new NpgsqlBatchCommand("""
            INSERT INTO pool_outcomes (id, pool_id, position, label)
            SELECT o.id, $1, o.n - 1, o.label FROM unnest($2::uuid[], $3::text[]) WITH ORDINALITY AS o(id, label, n)
            """);
        Add(outcomes, pool.Id);
        Add(outcomes, pool.Outcomes.Select(o => o.Id).ToArray());
        Add(outcomes, pool.Outcomes.Select(o => o.Label).ToArray());
        batch.BatchCommands.Add(outcomes);
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Saves the pool's lifecycle fields if nobody saved it since it was loaded; false (and nothing written) otherwise.</summary>
    public async Task<bool> UpdateAsync(NpgsqlTransaction transaction, StoredPool stored, CancellationToken cancellationToken)
    {
        var pool = stored.Pool;
        await using var command = new NpgsqlCommand("""
            UPDATE pools SET state = $3, opened_at = $4, locks_at = $5, locked_at = $6, closed_at = $7, winning_outcome_ids = $8,
                             cancellation_reason = $9, cancelled_by_role = $10, abandons_at = $11, version = version + 1
            WHERE id = $1 AND version = $2
            """, transaction.Connection, transaction);
        command.Parameters.AddWithValue(pool.Id);
        command.Parameters.AddWithValue(stored.Version);
        command.Parameters.AddWithValue(StateName(pool.State));
        command.Parameters.Add(Nullable(pool.OpenedAt));
        command.Parameters.Add(Nullable(pool.LocksAt));
        command.Parameters.Add(Nullable(pool.LockedAt));
        command.Parameters.Add(Nullable(pool.ClosedAt));
        command.Parameters.AddWithValue(pool.WinningOutcomeIds.ToArray());
        command.Parameters.Add(new NpgsqlParameter { Value = pool.CancellationReason is { } reason ? ReasonName(reason) : DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)stored.CancelledByRole ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(Nullable(pool.AbandonsAt));
        if (await command.ExecuteNonQueryAsync(cancellationToken) == 0)
        {
            return false;
        }

        stored.Version++;
        return true;
    }

    /// <summary>The stakes counted so far per outcome, in display order; read in the caller's transaction when given.</summary>
    public async Task<IReadOnlyList<OutcomeStakeRow>> StakesAsync(Guid poolId, NpgsqlTransaction? transaction, CancellationToken cancellationToken)
    {
        const string sql = "SELECT id, staked_minor, bet_count FROM pool_outcomes WHERE pool_id = $1 ORDER BY position";
        await using var command = transaction is null ? database.CreateCommand(sql) : new NpgsqlCommand(sql, transaction.Connection, transaction);
        command.Parameters.AddWithValue(poolId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<OutcomeStakeRow>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new OutcomeStakeRow(reader.GetGuid(0), reader.GetInt64(1), reader.GetInt32(2)));
        }

        return rows;
    }

    /// <summary>
    /// Adds accepted stakes to their outcomes in one statement, holding the pool's stakes lock shared (see
    /// <see cref="ReadModelLocks"/>), and answers the new totals of the outcomes the pool has (unknown ones are left out).
    /// </summary>
    public static async Task<IReadOnlyList<OutcomeStakeRow>> AddStakesAsync(
        NpgsqlTransaction transaction, Guid poolId, IReadOnlyList<OutcomeStakeRow> added, CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(transaction.Connection, transaction)
        {
            BatchCommands =
            {
                ReadModelLocks.Shared(ReadModelLocks.PoolStakes(poolId)),
                new NpgsqlBatchCommand("""
                    UPDATE pool_outcomes AS o SET staked_minor = o.staked_minor + a.staked, bet_count = o.bet_count + a.bets
                    FROM unnest($2::uuid[], $3::bigint[], $4::int[]) AS a(outcome_id, staked, bets)
                    WHERE o.id = a.outcome_id AND o.pool_id = $1
                    RETURNING o.id, o.staked_minor, o.bet_count
                    """)
                {
                    Parameters =
                    {
                        new() { Value = poolId },
                        new() { Value = added.Select(a => a.OutcomeId).ToArray() },
                        new() { Value = added.Select(a => a.StakedMinor).ToArray() },
                        new() { Value = added.Select(a => a.BetCount).ToArray() },
                    },
                },
            },
        };
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        await reader.NextResultAsync(cancellationToken);
        var totals = new List<OutcomeStakeRow>(added.Count);
        while (await reader.ReadAsync(cancellationToken))
        {
            totals.Add(new OutcomeStakeRow(reader.GetGuid(0), reader.GetInt64(1), reader.GetInt32(2)));
        }
        return totals;
    }

    /// <summary>
    /// Resolved and cancelled pools with no PoolSettled yet, closed at or before <paramref name="finishedBefore"/>, oldest
    /// close first (then by id), at most <paramref name="limit"/>, after <paramref name="after"/> if given: all read from
    /// the partial index <c>pools_unsettled_by_closed_at</c>, which holds only pools waiting for their payout.
    /// </summary>
    public async Task<IReadOnlyList<UnsettledPoolRow>> UnsettledAsync(
        DateTimeOffset finishedBefore, (DateTimeOffset ClosedAt, Guid Id)? after, int limit, CancellationToken cancellationToken)
    {
        // Two statement texts rather than "$3 IS NULL OR ...", so each keeps the index under a generic plan.
        await using var command = database.CreateCommand(after is null ? UnsettledSql : UnsettledAfterSql);
        command.Parameters.AddWithValue(finishedBefore);
        command.Parameters.AddWithValue(limit);
        if (after is { } cursor)
        {
            command.Parameters.AddWithValue(cursor.ClosedAt);
            command.Parameters.AddWithValue(cursor.Id);
        }

        var pools = new List<UnsettledPoolRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            pools.Add(new UnsettledPoolRow(reader.GetGuid(0), Enum.Parse<PoolState>(reader.GetString(1), ignoreCase: true), reader.GetFieldValue<DateTimeOffset>(2)));
        }
        return pools;
    }

    private const string UnsettledWhere = "WHERE state IN ('resolved', 'cancelled') AND settled_at IS NULL AND closed_at <= $1";

    internal const string UnsettledSql = $"SELECT id, state, closed_at FROM pools {UnsettledWhere} ORDER BY closed_at, id LIMIT $2";

    internal const string UnsettledAfterSql =
        $"SELECT id, state, closed_at FROM pools {UnsettledWhere} AND (closed_at, id) > ($3, $4) ORDER BY closed_at, id LIMIT $2";

    /// <summary>
    /// Records when Settlement paid the pool out, once: a later PoolSettled for the same pool keeps the first time and
    /// changes nothing. The version moves with the change, as for any change of what the pool's views show.
    /// </summary>
    /// <returns>False when no pool has this id.</returns>
    public static async Task<bool> MarkSettledAsync(NpgsqlTransaction transaction, Guid poolId, DateTimeOffset settledAt, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            WITH marked AS (
                UPDATE pools SET settled_at = $2, version = version + 1 WHERE id = $1 AND settled_at IS NULL RETURNING id)
            SELECT EXISTS (SELECT 1 FROM marked) OR EXISTS (SELECT 1 FROM pools WHERE id = $1)
            """, transaction.Connection, transaction);
        command.Parameters.AddWithValue(poolId);
        command.Parameters.AddWithValue(settledAt);
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>The pool <paramref name="createdBy"/> opened with this Idempotency-Key, and the hash of that request; null if none.</summary>
    public async Task<(Guid PoolId, byte[] RequestHash)?> FindByIdempotencyKeyAsync(Guid createdBy, string key, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("SELECT id, request_hash FROM pools WHERE created_by = $1 AND idempotency_key = $2");
        command.Parameters.AddWithValue(createdBy);
        command.Parameters.AddWithValue(key);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? (reader.GetGuid(0), reader.GetFieldValue<byte[]>(1)) : null;
    }

    public static bool IsIdempotencyKeyViolation(PostgresException e) =>
        e.SqlState == PostgresErrorCodes.UniqueViolation && e.ConstraintName == "pools_by_idempotency_key";

    public static bool IsOneActivePoolViolation(PostgresException e) =>
        e.SqlState == PostgresErrorCodes.UniqueViolation && e.ConstraintName == "pools_one_active_per_channel";

    private static async Task<IReadOnlyList<StoredPool>> ReadAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var pools = new List<StoredPool>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var outcomeIds = reader.GetFieldValue<Guid[]>(21);
            var labels = reader.GetFieldValue<string[]>(22);
            var pool = Pool.Rehydrate(new PoolMemento(
                Id: reader.GetGuid(0),
                Title: reader.GetString(5),
                Outcomes: [.. outcomeIds.Zip(labels, (id, label) => new PoolOutcome(id, label))],
                BettingWindow: reader.GetFieldValue<TimeSpan>(6),
                MinStake: new Money(reader.GetInt64(7)),
                MaxStake: new Money(reader.GetInt64(8)),
                RakeBasisPoints: reader.GetInt32(9),
                State: Enum.Parse<PoolState>(reader.GetString(10), ignoreCase: true),
                OpenedAt: NullableTime(reader, 13),
                LocksAt: NullableTime(reader, 14),
                LockedAt: NullableTime(reader, 15),
                ClosedAt: NullableTime(reader, 16),
                WinningOutcomeIds: reader.GetFieldValue<Guid[]>(17),
                CancellationReason: reader.IsDBNull(18) ? null : Enum.Parse<CancellationReason>(reader.GetString(18), ignoreCase: true),
                AutoCancelAfter: reader.IsDBNull(24) ? null : reader.GetFieldValue<TimeSpan>(24),
                AbandonsAt: NullableTime(reader, 25)));
            pools.Add(new StoredPool(
                pool,
                new Channel(reader.GetString(1), reader.GetString(2)),
                reader.GetGuid(3),
                reader.IsDBNull(4) ? null : reader.GetString(4),
                reader.GetBoolean(11),
                reader.GetFieldValue<DateTimeOffset>(12),
                reader.GetInt32(20))
            {
                CancelledByRole = reader.IsDBNull(19) ? null : reader.GetString(19),
                SettledAt = NullableTime(reader, 23),
            });
        }

        return pools;
    }

    private static DateTimeOffset? NullableTime(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<DateTimeOffset>(ordinal);

    private static NpgsqlParameter Nullable(DateTimeOffset? value) =>
        new() { Value = value is { } v ? v : DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz };

    private static void Add<T>(NpgsqlBatchCommand command, T value) =>
        command.Parameters.Add(value is null
            ? new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = typeof(T) == typeof(DateTimeOffset?) ? NpgsqlDbType.TimestampTz : NpgsqlDbType.Text }
            : new NpgsqlParameter { Value = value });

    internal static string StateName(PoolState state) => state.ToString().ToLowerInvariant();

    private static string ReasonName(CancellationReason reason) => reason.ToString().ToLowerInvariant();
}
