using Npgsql;

namespace StreamBets.Users.Kyc;

public sealed record KycReviewItem(Guid CheckId, Guid UserId, string DisplayName, string Email, string Country, string Provider, string? ProviderResult, DateTimeOffset CreatedAt, DateTimeOffset? CompletedAt);

public sealed record KycDecisionRequest(string? Note);

/// <summary>Checks the provider could not clear ("consider"), waiting for an admin to approve or reject them.</summary>
public sealed class KycReviewQueue(NpgsqlDataSource db, KycChecks checks, TimeProvider time)
{
    public async Task<IReadOnlyList<KycReviewItem>> ListAsync(CancellationToken cancellationToken) =>
        (await checks.ReviewQueueAsync(cancellationToken))
        .Select(r => new KycReviewItem(r.Check.Id, r.Check.UserId, r.DisplayName, r.Email, r.Country, r.Check.Provider, r.Check.ProviderResult, r.Check.CreatedAt, r.Check.CompletedAt))
        .ToList();

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
