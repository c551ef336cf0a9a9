using Npgsql;

namespace StreamBets.Users.Kyc;

public sealed record KycReviewItem(Guid CheckId, Guid UserId, string DisplayName, string Email, string Country, string Provider, string? ProviderResult, DateTimeOffset CreatedAt, DateTimeOffset? CompletedAt);

/// <summary>A page of the review queue; pass <see cref="NextCursor"/> back as <c>cursor</c> for the next one.</summary>
public sealed record KycReviewPage(IReadOnlyList<KycReviewItem> Items, string? NextCursor);

public sealed record KycDecisionRequest(string? Note);

/// <summary>Checks the provider could not clear ("consider"), waiting for an admin to approve or reject them.</summary>
public sealed class KycReviewQueue(NpgsqlDataSource db, KycChecks checks, TimeProvider time)
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 200;

    /// <summary>A page of the queue, the longest waiting for a decision first (by when it entered review); null <c>NextCursor</c> on the last page.</summary>
    public async Task<KycReviewPage> ListAsync(PageCursor? after, int limit, CancellationToken cancellationToken)
    {
        var rows = await checks.ReviewQueueAsync(after, limit, cancellationToken);
        var items = rows.Take(limit)
            .Select(r => new KycReviewItem(r.Check.Id, r.Check.UserId, r.DisplayName, r.Email, r.Country, r.Check.Provider, r.Check.ProviderResult, r.Check.CreatedAt, r.Check.CompletedAt))
            .ToList();
        // One row beyond the limit says whether another page exists, without a count query. A check entering review gets its completed_at.
        return new KycReviewPage(items, rows.Count > limit ? new PageCursor(items[^1].CompletedAt!.Value, items[^1].CheckId).ToString() : null);
    }

    public async Task<Outcome<KycCheckView>> DecideAsync(Guid checkId, Guid adminId, bool approve, KycDecisionRequest request, CancellationToken cancellationToken)
    {
        var note = request.Note?.Trim();
        if (!approve && string.IsNullOrEmpty(note))
        {
            return Outcome<KycCheckView>.Invalid(new Dictionary<string, string[]> { ["note"] = ["Say why the check is rejected; the player is told."] });
        }
        if (note?.Length > 500)
        {
            return Outcome<KycCheckView>.Invalid(new Dictionary<string, string[]> { ["note"] = ["The note must have at most 500 characters."] });
        }
        // Lines are fine (the player reads the note); other control characters are not, and a NUL cannot even be stored.
        if (note is not null && note.Any(c => char.IsControl(c) && c is not ('\n' or '\r' or '\t')))
        {
            return Outcome<KycCheckView>.Invalid(new Dictionary<string, string[]> { ["note"] = ["The note may not contain control characters."] });
        }

        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var check = await KycChecks.LockByIdAsync(transaction, checkId, cancellationToken);
        if (check is null)
        {
            return Problems.KycCheckNotFound();
        }
        if (check.UserId == adminId)
        {
            return Problems.OwnKycReview();
        }
        if (check.Status != KycCheckStatus.Review)
        {
            return Problems.KycCheckNotInReview();
        }

        var moved = await checks.MoveAsync(transaction, check, approve ? KycCheckStatus.Approved : KycCheckStatus.Rejected, null, adminId,
            string.IsNullOrEmpty(note) ? null : note, approve ? "approved in manual review" : $"rejected in manual review: {note}", time.GetUtcNow(), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return KycCheckView.From(moved);
    }
}
