using Npgsql;
using StreamBets.Users.Data;

namespace StreamBets.Users.Kyc;

/// <summary>The status words of a check row.</summary>
public static class KycCheckStatus
{
    public const string Pending = "pending";
    public const string Review = "review";
    public const string Approved = "approved";
    public const string Rejected = "rejected";
}

public sealed record KycCheck(
    Guid Id, Guid UserId, string Provider, string ProviderCheckId, string Status, string? ProviderResult,
    DateTimeOffset CreatedAt, DateTimeOffset? CompletedAt, string? DecisionNote);

/// <summary>
/// The kyc_checks table and the one way a check closes: its new status, the player's tier and the
/// KycStatusChanged event are written in one transaction.
/// </summary>
public sealed class KycChecks(NpgsqlDataSource db, KycTierChanges tierChanges)
{
    private const string Columns = "id, user_id, provider, provider_check_id, status, provider_result, created_at, completed_at, decision_note";

    public async Task<KycCheck?> LatestForUserAsync(Guid userId, CancellationToken cancellationToken)
    {
        return await SingleAsync(
            db.CreateCommand($"SELECT {Columns} FROM kyc_checks WHERE user_id = $1 ORDER BY created_at DESC LIMIT 1").With(userId), cancellationToken);
    }

    /// <summary>
    /// Checks in review, oldest first, <paramref name="limit"/> at a time after <paramref name="after"/> (the last check of the
    /// previous page), and one more when there is another page.
    /// </summary>
    public async Task<IReadOnlyList<(KycCheck Check, string DisplayName, string Email, string Country)>> ReviewQueueAsync(
        PageCursor? after, int limit, CancellationToken cancellationToken)
    {
        await using var select = db.CreateCommand(
            """
            SELECT k.id, k.user_id, k.provider, k.provider_check_id, k.status, k.provider_result, k.created_at, k.completed_at, k.decision_note,
                   u.display_name, u.email, u.country
            FROM kyc_checks k JOIN users u ON u.id = k.user_id
            WHERE k.status = 'review' AND (k.created_at, k.id) > ($1, $2)
            ORDER BY k.created_at, k.id
            LIMIT $3
            """).With(after?.At ?? DateTimeOffset.MinValue).With(after?.Id ?? Guid.Empty).With(limit + 1);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        var queue = new List<(KycCheck, string, string, string)>();
        while (await reader.ReadAsync(cancellationToken))
        {
            queue.Add((Read(reader), reader.GetString(9), reader.GetString(10), reader.GetString(11)));
        }
        return queue;
    }

    /// <summary>Sandbox checks that have waited long enough to complete.</summary>
    public async Task<IReadOnlyList<string>> PendingProviderCheckIdsAsync(string provider, DateTimeOffset createdBefore, CancellationToken cancellationToken)
    {
        await using var select = db.CreateCommand(
            "SELECT provider_check_id FROM kyc_checks WHERE provider = $1 AND status = 'pending' AND created_at <= $2 ORDER BY created_at LIMIT 50")
            .With(provider).With(createdBefore);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        var ids = new List<string>();
        while (await reader.ReadAsync(cancellationToken))
        {
            ids.Add(reader.GetString(0));
        }
        return ids;
    }

    public static async Task InsertAsync(NpgsqlTransaction transaction, KycCheck check, CancellationToken cancellationToken)
    {
        await using var insert = new NpgsqlCommand(
            $"INSERT INTO kyc_checks ({Columns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)", transaction.Connection, transaction);
        await insert.With(check.Id).With(check.UserId).With(check.Provider).With(check.ProviderCheckId).With(check.Status)
            .With(check.ProviderResult).With(check.CreatedAt).With(check.CompletedAt).With(check.DecisionNote).ExecuteNonQueryAsync(cancellationToken);
    }

    public static Task<KycCheck?> LockByProviderIdAsync(NpgsqlTransaction transaction, string provider, string providerCheckId, CancellationToken cancellationToken) =>
        SingleAsync(new NpgsqlCommand($"SELECT {Columns} FROM kyc_checks WHERE provider = $1 AND provider_check_id = $2 FOR UPDATE",
            transaction.Connection, transaction).With(provider).With(providerCheckId), cancellationToken);

    public static Task<KycCheck?> LockByIdAsync(NpgsqlTransaction transaction, Guid id, CancellationToken cancellationToken) =>
        SingleAsync(new NpgsqlCommand($"SELECT {Columns} FROM kyc_checks WHERE id = $1 FOR UPDATE", transaction.Connection, transaction).With(id), cancellationToken);

    /// <summary>
    /// Moves a locked open check to review, approved or rejected and records what that means for the
    /// player: approval lifts them to tier 2; review and rejection leave the tier as it is.
    /// </summary>
    public async Task<KycCheck> MoveAsync(
        NpgsqlTransaction transaction, KycCheck check, string status, string? providerResult, Guid? decidedBy, string? note, string reason,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        var closes = status is KycCheckStatus.Approved or KycCheckStatus.Rejected;
        var moved = check with
        {
            Status = status,
            ProviderResult = providerResult ?? check.ProviderResult,
            CompletedAt = check.CompletedAt ?? (closes || status == KycCheckStatus.Review ? now : null),
            DecisionNote = note ?? check.DecisionNote,
        };
        await using (var update = new NpgsqlCommand(
            "UPDATE kyc_checks SET status = $2, provider_result = $3, completed_at = $4, decided_by = coalesce($5, decided_by), decision_note = $6 WHERE id = $1",
            transaction.Connection, transaction))
        {
            update.With(moved.Id).With(moved.Status).With(moved.ProviderResult).With(moved.CompletedAt).With(decidedBy).With(moved.DecisionNote);
            update.Parameters[4].NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Uuid;
            await update.ExecuteNonQueryAsync(cancellationToken);
        }

        var tier = await KycTierChanges.LockTierAsync(transaction, check.UserId, cancellationToken) ?? KycTiers.Unverified;
        var (newTier, kycStatus) = status switch
        {
            KycCheckStatus.Approved => (Math.Max(tier, KycTiers.Verified), KycStatuses.Verified),
            KycCheckStatus.Review => (tier, KycStatuses.InReview),
            _ => (tier, KycStatuses.Rejected),
        };
        await tierChanges.RecordAsync(transaction, check.UserId, tier, newTier, kycStatus, reason, now, cancellationToken);
        return moved;
    }

    private static Task<KycCheck?> SingleAsync(NpgsqlCommand command, CancellationToken cancellationToken) =>
        command.QuerySingleOrDefaultAsync(Read, cancellationToken);

    private static KycCheck Read(NpgsqlDataReader reader) => new(
        reader.GetGuid(0), reader.GetGuid(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetNullable<string>(5),
        reader.GetFieldValue<DateTimeOffset>(6), reader.GetNullable<DateTimeOffset?>(7), reader.GetNullable<string>(8));
}
