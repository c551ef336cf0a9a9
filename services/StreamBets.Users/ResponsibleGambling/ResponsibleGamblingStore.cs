using Npgsql;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;
using StreamBets.Users.Data;

namespace StreamBets.Users.ResponsibleGambling;

/// <summary>Reads and writes limits, self-exclusions and the deposit record.</summary>
public sealed class ResponsibleGamblingStore(NpgsqlDataSource db, IOutbox outbox)
{
    /// <summary>The first key of the deposits' advisory locks (the second is the player's), apart from other locks in usersdb.</summary>
    private const int DepositsLockClass = 7401;

    private const string LimitColumns = "kind, value, has_pending, pending_value, pending_effective_at";
    private const string SelectSelfExclusion = "SELECT period, started_at, ends_at FROM rg_self_exclusions WHERE user_id = $1";

    public async Task<PlayerLimits> GetLimitsAsync(Guid userId, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var select = new NpgsqlCommand($"SELECT {LimitColumns} FROM rg_limits WHERE user_id = $1", connection).With(userId);
        return await ReadLimitsAsync(select, cancellationToken);
    }

    /// <summary>Runs <c>SELECT kind, value, has_pending, pending_value, pending_effective_at</c>.</summary>
    private static async Task<PlayerLimits> ReadLimitsAsync(NpgsqlCommand select, CancellationToken cancellationToken)
    {
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        var settings = new Dictionary<LimitKind, LimitSetting>();
        while (await reader.ReadAsync(cancellationToken))
        {
            settings[ResponsibleGamblingRules.ParseKind(reader.GetString(0))] = ReadLimit(reader, 1);
        }
        return new PlayerLimits(settings);
    }

    /// <summary>Reads <c>value, has_pending, pending_value, pending_effective_at</c> from column <paramref name="first"/> on.</summary>
    public static LimitSetting ReadLimit(NpgsqlDataReader reader, int first) => new(
        reader.GetNullable<long?>(first), reader.GetBoolean(first + 1), reader.GetNullable<long?>(first + 2), reader.GetNullable<DateTimeOffset?>(first + 3));

    /// <summary>
    /// Changes a player's limits under a lock on the player, so two concurrent edits cannot both start
    /// from the same old values. <paramref name="change"/> maps the current limits to the new ones.
    /// </summary>
    public async Task<PlayerLimits> ChangeLimitsAsync(Guid userId, Func<PlayerLimits, PlayerLimits> change, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await LockPlayerAsync(transaction, userId, cancellationToken);

        PlayerLimits current;
        await using (var select = new NpgsqlCommand($"SELECT {LimitColumns} FROM rg_limits WHERE user_id = $1", connection, transaction).With(userId))
        {
            current = await ReadLimitsAsync(select, cancellationToken);
        }

        var changed = change(current);
        foreach (var kind in Enum.GetValues<LimitKind>())
        {
            var setting = changed[kind];
            await using var upsert = new NpgsqlCommand(
                """
                INSERT INTO rg_limits (user_id, kind, value, has_pending, pending_value, pending_effective_at, updated_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7)
                ON CONFLICT (user_id, kind) DO UPDATE SET value = excluded.value, has_pending = excluded.has_pending,
                    pending_value = excluded.pending_value, pending_effective_at = excluded.pending_effective_at, updated_at = excluded.updated_at
                """, connection, transaction);
            await upsert.With(userId).With(kind.Code()).With(setting.Value).With(setting.HasPending).With(setting.PendingValue)
                .With(setting.PendingEffectiveAt).With(now).ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        return changed;
    }

    public Task<SelfExclusion?> GetSelfExclusionAsync(Guid userId, CancellationToken cancellationToken) =>
        db.CreateCommand(SelectSelfExclusion).With(userId).QuerySingleOrDefaultAsync(reader => ReadSelfExclusion(reader, 0)!, cancellationToken);

    public static SelfExclusion? ReadSelfExclusion(NpgsqlDataReader reader, int first) => reader.IsDBNull(first)
        ? null
        : new SelfExclusion(reader.GetString(first), reader.GetFieldValue<DateTimeOffset>(first + 1), reader.GetNullable<DateTimeOffset?>(first + 2));

    /// <summary>
    /// Starts or lengthens a self-exclusion; answers the exclusion in force afterwards. A change is published as
    /// PlayerSelfExcluded in the same transaction, so the Bet Engine hears of every stored exclusion and of no other.
    /// </summary>
    public async Task<SelfExclusion> ExcludeAsync(Guid userId, SelfExclusion requested, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await LockPlayerAsync(transaction, userId, cancellationToken);

        var current = await new NpgsqlCommand(SelectSelfExclusion, connection, transaction).With(userId)
            .QuerySingleOrDefaultAsync(reader => ReadSelfExclusion(reader, 0)!, cancellationToken);

        var combined = SelfExclusion.Combine(current, requested, now);
        await using (var upsert = new NpgsqlCommand(
            """
            INSERT INTO rg_self_exclusions (user_id, period, started_at, ends_at) VALUES ($1, $2, $3, $4)
            ON CONFLICT (user_id) DO UPDATE SET period = excluded.period, started_at = excluded.started_at, ends_at = excluded.ends_at
            """, connection, transaction))
        {
            await upsert.With(userId).With(combined.Period).With(combined.StartedAt).With(combined.EndsAt).ExecuteNonQueryAsync(cancellationToken);
        }
        if (combined != current)
        {
            await outbox.AddAsync(transaction, new PlayerSelfExcluded(userId, combined.Period, combined.StartedAt, combined.EndsAt), cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        return combined;
    }

    /// <summary>
    /// Records a succeeded deposit for the deposit limits, once per deposit id, in the caller's transaction
    /// (the DepositSucceeded handler's inbox transaction, or a sandbox deposit's with its credit). Answers whether it was new.
    /// </summary>
    public static async Task<bool> RecordDepositAsync(
        NpgsqlTransaction transaction, Guid depositId, Guid userId, long amountMinor, DateTimeOffset occurredAt, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(amountMinor);
        await using var insert = new NpgsqlCommand(
            "INSERT INTO rg_deposits (deposit_id, user_id, amount_minor, occurred_at) VALUES ($1, $2, $3, $4) ON CONFLICT (deposit_id) DO NOTHING",
            transaction.Connection, transaction);
        return await insert.With(depositId).With(userId).With(amountMinor).With(occurredAt).ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>The same in a transaction of its own.</summary>
    public async Task<bool> RecordDepositAsync(Guid depositId, Guid userId, long amountMinor, DateTimeOffset occurredAt, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var recorded = await RecordDepositAsync(transaction, depositId, userId, amountMinor, occurredAt, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return recorded;
    }

    public static async Task<bool> IsDepositRecordedAsync(NpgsqlTransaction transaction, Guid depositId, CancellationToken cancellationToken)
    {
        await using var select = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM rg_deposits WHERE deposit_id = $1)", transaction.Connection, transaction).With(depositId);
        return (bool)(await select.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>
    /// Locks the player's deposits until the transaction ends, so that they happen one at a time: a deposit's limit check,
    /// its credit and its record then cannot interleave with another deposit's (two deposits could otherwise each pass
    /// the check against the same total). An advisory lock, not FOR UPDATE on the users row, which would also hold up every
    /// insert that references the player (a sign-in's session, a KYC check); deposits hold the row only FOR KEY SHARE
    /// (<see cref="HoldPlayerAsync"/>), as those inserts do.
    /// </summary>
    public static async Task LockDepositsAsync(NpgsqlTransaction transaction, Guid userId, CancellationToken cancellationToken)
    {
        await using var hold = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1, hashtext($2))", transaction.Connection, transaction)
            .With(DepositsLockClass).With(userId.ToString());
        await hold.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Holds the player's row until the transaction ends against what locks it FOR UPDATE (a self-exclusion, a limit change,
    /// a KYC tier change): one under way is waited for, and the statements after this one see it committed; one that comes
    /// later waits for this transaction. FOR KEY SHARE, the lock a foreign-key check takes, so sign-ins, role changes and
    /// other inserts that reference the player do not wait for it. Plain reads never wait on a row lock, so without it a
    /// deposit judged the player as they were before an exclusion already holding the row, and was credited after it.
    /// </summary>
    public static async Task HoldPlayerAsync(NpgsqlTransaction transaction, Guid userId, CancellationToken cancellationToken)
    {
        await using var hold = new NpgsqlCommand("SELECT 1 FROM users WHERE id = $1 FOR KEY SHARE", transaction.Connection, transaction).With(userId);
        await hold.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task LockPlayerAsync(NpgsqlTransaction transaction, Guid userId, CancellationToken cancellationToken)
    {
        await using var lockUser = new NpgsqlCommand("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", transaction.Connection, transaction).With(userId);
        await lockUser.ExecuteNonQueryAsync(cancellationToken);
    }
}
