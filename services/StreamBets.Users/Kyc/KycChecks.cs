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

/// <summary>A check row; <see cref="ProviderCheckId"/> is null while the row is a start's claim, before the provider answered.</summary>
public sealed record KycCheck(
    Guid Id, Guid UserId, string Provider, string? ProviderCheckId, string Status, string? ProviderResult,
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
            db.CreateCommand($"SELECT {Columns} FROM kyc_checks WHERE user_id = $1 AND provider_check_id IS NOT NULL ORDER BY created_at DESC LIMIT 1")
                .With(userId), cancellationToken);
    }

    /// <summary>
    /// Claims the player's one open check before the provider is called, committed at once so no connection is held through
    /// that call: a pending row without a provider check id, which the one-open index counts. A claim created at or before
    /// <paramref name="staleBefore"/> was left by a start that died, and is taken over. Null when a check is already open.
    /// </summary>
    public async Task<Guid?> ClaimAsync(Guid userId, string provider, DateTimeOffset now, DateTimeOffset staleBefore, CancellationToken cancellationToken)
    {
        var claimId = Guid.CreateVersion7(now);
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var takeOver = new NpgsqlCommand(
            "DELETE FROM kyc_checks WHERE user_id = $1 AND status = 'pending' AND provider_check_id IS NULL AND created_at <= $2", connection, transaction))
        {
            await takeOver.With(userId).With(staleBefore).ExecuteNonQueryAsync(cancellationToken);
        }
        try
        {
            await InsertAsync(transaction, new KycCheck(claimId, userId, provider, null, KycCheckStatus.Pending, null, now, null, null), cancellationToken);
        }
        catch (PostgresException e) when (e.IsUniqueViolation("kyc_checks_one_open"))
        {
            return null;
        }
        await transaction.CommitAsync(cancellationToken);
        return claimId;
    }

    /// <summary>Gives a claim the provider's check id; false when the claim is gone (taken over as stale).</summary>
    public static async Task<bool> CompleteClaimAsync(NpgsqlTransaction transaction, Guid claimId, string providerCheckId, CancellationToken cancellationToken)
    {
        await using var update = new NpgsqlCommand(
            "UPDATE kyc_checks SET provider_check_id = $2 WHERE id = $1 AND provider_check_id IS NULL", transaction.Connection, transaction);
        return await update.With(claimId).With(providerCheckId).ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>Removes a claim whose provider call failed, so the player may start again at once.</summary>
    public async Task ReleaseClaimAsync(Guid claimId, CancellationToken cancellationToken)
    {
        await using var delete = db.CreateCommand("DELETE FROM kyc_checks WHERE id = $1 AND provider_check_id IS NULL").With(claimId);
        await delete.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Checks in review, in the order they entered it (completed_at, when the provider answered "consider"; not created_at,
    /// or a check that started long ago would enter behind an admin's cursor and never be shown), <paramref name="limit"/>
    /// at a time after <paramref name="after"/> (the last check of the previous page), and one more when there is another page.
    /// </summary>
    public async Task<IReadOnlyList<(KycCheck Check, string DisplayName, string Email, string Country)>> ReviewQueueAsync(
        PageCursor? after, int limit, CancellationToken cancellationToken)
    {
        await using var select = db.CreateCommand(
            """
            SELECT k.id, k.user_id, k.provider, k.provider_check_id, k.status, k.provider_result, k.created_at, k.completed_at, k.decision_note,
                   u.display_name, u.email, u.country
            FROM kyc_checks k JOIN users u ON u.id = k.user_id
            WHERE k.status = 'review' AND (k.completed_at, k.id) > ($1, $2)
            ORDER BY k.completed_at, k.id
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

    /// <summary>
    /// A provider's pending checks after <paramref name="after"/> (created then, ties broken by id; null for the oldest)
    /// and created at or before <paramref name="createdBefore"/>, oldest first, at most <paramref name="limit"/> (not
    /// claims: the provider has not seen those). Read through the partial index kyc_checks_pending.
    /// </summary>
    public async Task<IReadOnlyList<PendingProviderCheck>> PendingProviderChecksAsync(
        string provider, PendingProviderCheck? after, DateTimeOffset createdBefore, int limit, CancellationToken cancellationToken)
    {
        await using var select = db.CreateCommand(
            """
            SELECT provider_check_id, created_at, id FROM kyc_checks
            WHERE provider = $1 AND status = 'pending' AND provider_check_id IS NOT NULL
              AND created_at >= $2 AND (created_at, id) > ($2, $3) AND created_at <= $4
            ORDER BY created_at, id
            LIMIT $5
            """).With(provider).With(after?.CreatedAt ?? DateTimeOffset.MinValue).With(after?.Id ?? Guid.Empty).With(createdBefore).With(limit);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        var pending = new List<PendingProviderCheck>();
        while (await reader.ReadAsync(cancellationToken))
        {
            pending.Add(new PendingProviderCheck(reader.GetString(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetGuid(2)));
        }
        return pending;
    }

    public static async Task InsertAsync(NpgsqlTransaction transaction, KycCheck check, CancellationToken cancellationToken)
    {
        await using var insert = new NpgsqlCommand(
            $"INSERT INTO kyc_checks ({Columns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)", transaction.Connection, transaction);
        await insert.With(check.Id).With(check.UserId).With(check.Provider).With(check.ProviderCheckId).With(check.Status)
            .With(check.ProviderResult).With(check.CreatedAt).With(check.CompletedAt).With(check.DecisionNote).ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>A check by its provider's id, unlocked: a look before the provider is asked about it (no claim has one).</summary>
    public Task<KycCheck?> FindByProviderIdAsync(string provider, string providerCheckId, CancellationToken cancellationToken) =>
        SingleAsync(db.CreateCommand($"SELECT {Columns} FROM kyc_checks WHERE provider = $1 AND provider_check_id = $2")
            .With(provider).With(providerCheckId), cancellationToken);

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
        reader.GetGuid(0), reader.GetGuid(1), reader.GetString(2), reader.GetNullable<string>(3), reader.GetString(4), reader.GetNullable<string>(5),
        reader.GetFieldValue<DateTimeOffset>(6), reader.GetNullable<DateTimeOffset?>(7), reader.GetNullable<string>(8));
}

/// <summary>A pending check the provider knows (it has its id), where it stands in the oldest-first order.</summary>
public sealed record PendingProviderCheck(string ProviderCheckId, DateTimeOffset CreatedAt, Guid Id);
