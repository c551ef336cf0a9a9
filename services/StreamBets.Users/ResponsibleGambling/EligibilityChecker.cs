using Npgsql;
using NpgsqlTypes;
using StreamBets.Users.Data;

namespace StreamBets.Users.ResponsibleGambling;

/// <summary>One eligibility question: may this user take this action now (in this session, for this amount)?</summary>
public sealed record EligibilityQuery(Guid UserId, PlayerAction Action, long? AmountMinor = null, Guid? SessionId = null);

/// <summary>
/// Reads players' <see cref="EligibilitySnapshot"/>s in one batched round trip, however many are asked (it is on the
/// bet path, and the Bet Engine asks for the players of a rush together), and applies <see cref="EligibilityRules"/>.
/// </summary>
public sealed class EligibilityChecker(NpgsqlDataSource db, TimeProvider time)
{
    private static readonly IReadOnlyDictionary<LimitKind, long> NothingDeposited = new Dictionary<LimitKind, long>
    {
        [LimitKind.Deposit24Hours] = 0,
        [LimitKind.Deposit7Days] = 0,
        [LimitKind.Deposit30Days] = 0,
    };

    /// <summary>Null when the user does not exist.</summary>
    public async Task<EligibilityDecision?> CheckAsync(Guid userId, PlayerAction action, long? amountMinor, Guid? sessionId, CancellationToken cancellationToken) =>
        (await CheckAsync([new EligibilityQuery(userId, action, amountMinor, sessionId)], cancellationToken))[0];

    /// <summary>
    /// The same on the caller's connection and in its transaction, so a sandbox deposit is judged, credited and recorded
    /// on one pooled connection instead of holding one while it waits for another.
    /// </summary>
    public async Task<EligibilityDecision?> CheckAsync(
        NpgsqlTransaction transaction, Guid userId, PlayerAction action, long? amountMinor, Guid? sessionId, CancellationToken cancellationToken) =>
        (await CheckAsync(transaction.Connection!, transaction, [new EligibilityQuery(userId, action, amountMinor, sessionId)], cancellationToken))[0];

    /// <returns>One decision per query, in order; null where the user does not exist.</returns>
    public async Task<EligibilityDecision?[]> CheckAsync(IReadOnlyList<EligibilityQuery> queries, CancellationToken cancellationToken)
    {
        if (queries.Count == 0)
        {
            return [];
        }
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        return await CheckAsync(connection, null, queries, cancellationToken);
    }

    private async Task<EligibilityDecision?[]> CheckAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, IReadOnlyList<EligibilityQuery> queries, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var userIds = queries.Select(q => q.UserId).Distinct().ToArray();
        await using var batch = new NpgsqlBatch(connection, transaction);

        // The session joins per query (one user may ask from two sessions); limits and deposits per user.
        var players = new NpgsqlBatchCommand(
            """
            SELECT q.i, u.date_of_birth, u.kyc_tier, x.period, x.started_at, x.ends_at, s.started_at
            FROM unnest($1::uuid[], $2::uuid[]) WITH ORDINALITY AS q(user_id, session_id, i)
            JOIN users u ON u.id = q.user_id
            LEFT JOIN rg_self_exclusions x ON x.user_id = u.id
            LEFT JOIN sessions s ON s.id = q.session_id AND s.user_id = u.id
            """).With(queries.Select(q => q.UserId).ToArray());
        players.Parameters.Add(new NpgsqlParameter { Value = queries.Select(q => q.SessionId).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Uuid });
        batch.BatchCommands.Add(players);
        batch.BatchCommands.Add(new NpgsqlBatchCommand(
            "SELECT user_id, kind, value, has_pending, pending_value, pending_effective_at FROM rg_limits WHERE user_id = ANY($1)").With(userIds));
        batch.BatchCommands.Add(new NpgsqlBatchCommand(
            """
            SELECT user_id,
                   coalesce(sum(amount_minor) FILTER (WHERE occurred_at > $2), 0)::bigint,
                   coalesce(sum(amount_minor) FILTER (WHERE occurred_at > $3), 0)::bigint,
                   coalesce(sum(amount_minor), 0)::bigint
            FROM rg_deposits WHERE user_id = ANY($1) AND occurred_at > $4
            GROUP BY user_id
            """).With(userIds)
            .With(now - LimitKind.Deposit24Hours.Window()).With(now - LimitKind.Deposit7Days.Window()).With(now - LimitKind.Deposit30Days.Window()));

        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        var found = new (DateOnly DateOfBirth, int KycTier, SelfExclusion? SelfExclusion, DateTimeOffset? SessionStartedAt)?[queries.Count];
        while (await reader.ReadAsync(cancellationToken))
        {
            found[reader.GetInt64(0) - 1] = (reader.GetFieldValue<DateOnly>(1), reader.GetInt16(2),
                ResponsibleGamblingStore.ReadSelfExclusion(reader, 3), reader.GetNullable<DateTimeOffset?>(6));
        }

        await reader.NextResultAsync(cancellationToken);
        var limitSettings = new Dictionary<Guid, Dictionary<LimitKind, LimitSetting>>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var settings = limitSettings.TryGetValue(reader.GetGuid(0), out var known) ? known : limitSettings[reader.GetGuid(0)] = [];
            settings[ResponsibleGamblingRules.ParseKind(reader.GetString(1))] = ResponsibleGamblingStore.ReadLimit(reader, 2);
        }

        await reader.NextResultAsync(cancellationToken);
        var deposited = new Dictionary<Guid, Dictionary<LimitKind, long>>();
        while (await reader.ReadAsync(cancellationToken))
        {
            deposited[reader.GetGuid(0)] = new()
            {
                [LimitKind.Deposit24Hours] = reader.GetInt64(1),
                [LimitKind.Deposit7Days] = reader.GetInt64(2),
                [LimitKind.Deposit30Days] = reader.GetInt64(3),
            };
        }

        var decisions = new EligibilityDecision?[queries.Count];
        for (var i = 0; i < queries.Count; i++)
        {
            if (found[i] is not { } player)
            {
                continue;
            }
            var query = queries[i];
            var limits = limitSettings.TryGetValue(query.UserId, out var settings) ? new PlayerLimits(settings) : PlayerLimits.None;
            var snapshot = new EligibilitySnapshot(player.DateOfBirth, player.KycTier, player.SelfExclusion, player.SessionStartedAt,
                limits, deposited.GetValueOrDefault(query.UserId) ?? NothingDeposited);
            decisions[i] = EligibilityRules.Decide(snapshot, query.Action, query.AmountMinor, now);
        }
        return decisions;
    }
}
