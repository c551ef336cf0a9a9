using Npgsql;
using StreamBets.Users.Data;

namespace StreamBets.Users.ResponsibleGambling;

/// <summary>
/// Reads a player's <see cref="EligibilitySnapshot"/> in one batched round trip (it is on the bet path)
/// and applies <see cref="EligibilityRules"/>.
/// </summary>
public sealed class EligibilityChecker(NpgsqlDataSource db, TimeProvider time)
{
    /// <summary>Null when the user does not exist.</summary>
    public async Task<EligibilityDecision?> CheckAsync(Guid userId, PlayerAction action, long? amountMinor, Guid? sessionId, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var batch = new NpgsqlBatch(connection);

        var player = new NpgsqlBatchCommand(
            """
            SELECT u.date_of_birth, u.kyc_tier, t.locked_until, x.period, x.started_at, x.ends_at, s.started_at
            FROM users u
            LEFT JOIN login_throttle t ON t.email_key = lower(u.email)
            LEFT JOIN rg_self_exclusions x ON x.user_id = u.id
            LEFT JOIN sessions s ON s.id = $2 AND s.user_id = u.id
            WHERE u.id = $1
            """).With(userId).With(sessionId);
        player.Parameters[1].NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Uuid;
        batch.BatchCommands.Add(player);
        batch.BatchCommands.Add(new NpgsqlBatchCommand(
            "SELECT kind, value, has_pending, pending_value, pending_effective_at FROM rg_limits WHERE user_id = $1").With(userId));
        batch.BatchCommands.Add(new NpgsqlBatchCommand(
            """
            SELECT coalesce(sum(amount_minor) FILTER (WHERE occurred_at > $2), 0)::bigint,
                   coalesce(sum(amount_minor) FILTER (WHERE occurred_at > $3), 0)::bigint,
                   coalesce(sum(amount_minor), 0)::bigint
            FROM rg_deposits WHERE user_id = $1 AND occurred_at > $4
            """).With(userId)
            .With(now - LimitKind.Deposit24Hours.Window()).With(now - LimitKind.Deposit7Days.Window()).With(now - LimitKind.Deposit30Days.Window()));

        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }
        var dateOfBirth = reader.GetFieldValue<DateOnly>(0);
        var tier = (int)reader.GetInt16(1);
        var lockedUntil = reader.GetNullable<DateTimeOffset?>(2);
        var selfExclusion = ResponsibleGamblingStore.ReadSelfExclusion(reader, 3);
        var sessionStartedAt = reader.GetNullable<DateTimeOffset?>(6);

        await reader.NextResultAsync(cancellationToken);
        var limits = await ResponsibleGamblingStore.ReadLimitsAsync(reader, cancellationToken);

        await reader.NextResultAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var deposited = new Dictionary<LimitKind, long>
        {
            [LimitKind.Deposit24Hours] = reader.GetInt64(0),
            [LimitKind.Deposit7Days] = reader.GetInt64(1),
            [LimitKind.Deposit30Days] = reader.GetInt64(2),
        };

        var snapshot = new EligibilitySnapshot(dateOfBirth, tier, lockedUntil, selfExclusion, sessionStartedAt, limits, deposited);
        return EligibilityRules.Decide(snapshot, action, amountMinor, now);
    }
}
