using Npgsql;
using StreamBets.Users.Accounts;
using StreamBets.Users.Data;

namespace StreamBets.Users.Kyc;

public sealed record SubmitDocumentRequest(string? DocumentType, string? DocumentNumber);

public sealed record StartCheckRequest(string? FirstName, string? LastName);

/// <summary>A check as its player (and the admin who decided it) sees it: a rejection's note is the reason the player is told.</summary>
public sealed record KycCheckView(
    Guid CheckId, string Provider, string ProviderCheckId, string Status, string? Result, DateTimeOffset CreatedAt, DateTimeOffset? CompletedAt, string? DecisionNote)
{
    // Only a start's claim lacks a provider check id, and claims are never shown.
    public static KycCheckView From(KycCheck check) =>
        new(check.Id, check.Provider, check.ProviderCheckId!, check.Status, check.ProviderResult, check.CreatedAt, check.CompletedAt, check.DecisionNote);
}

public sealed record KycStatusView(int Tier, string? DocumentType, bool MayBetAndDeposit, bool MayWithdraw, KycCheckView? LatestCheck);

/// <summary>
/// A player's way up the KYC tiers: a valid document number gives tier 1 at once; a provider check of
/// document and selfie gives tier 2 when its webhook says clear, or after an admin approves it.
/// </summary>
public sealed class KycVerification(
    NpgsqlDataSource db, AccountStore accounts, KycChecks checks, KycProviders providers, KycTierChanges tierChanges, TimeProvider time)
{
    /// <summary>
    /// How long a start's claim blocks other starts before it counts as left by a start that died. Longer than a provider
    /// call can take: Onfido's two POSTs get one attempt each, cut off by the standard resilience handler's 10 s attempt
    /// timeout (<see cref="OnfidoKycProvider.AddHttpClient"/>), so about 20 s in all.
    /// </summary>
    public static readonly TimeSpan ClaimLifetime = TimeSpan.FromMinutes(2);

    public async Task<KycStatusView?> GetStatusAsync(Guid userId, CancellationToken cancellationToken)
    {
        var account = await accounts.FindByIdAsync(userId, cancellationToken);
        if (account is null)
        {
            return null;
        }
        var latest = await checks.LatestForUserAsync(userId, cancellationToken);
        return new KycStatusView(account.KycTier, account.Document?.Type,
            account.KycTier >= KycTiers.DocumentAccepted, account.KycTier >= KycTiers.Verified, latest is null ? null : KycCheckView.From(latest));
    }

    /// <summary>Tier 0 to 1. The player is an adult already: registration refused anyone younger.</summary>
    public async Task<Outcome<KycStatusView>> SubmitDocumentAsync(Guid userId, SubmitDocumentRequest request, CancellationToken cancellationToken)
    {
        var account = await accounts.FindByIdAsync(userId, cancellationToken);
        if (account is null)
        {
            return Problems.UserNotFound();
        }
        if (!IdentityDocument.TryCreate(account.Country, request.DocumentType, request.DocumentNumber, out var document, out var problem))
        {
            return Outcome<KycStatusView>.Invalid(new Dictionary<string, string[]> { ["documentNumber"] = [problem] });
        }

        var now = time.GetUtcNow();
        await using (var connection = await db.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            var tier = await KycTierChanges.LockTierAsync(transaction, userId, cancellationToken) ?? KycTiers.Unverified;
            if (tier >= KycTiers.DocumentAccepted)
            {
                return Problems.KycAlreadyAtTier(tier);
            }
            try
            {
                await using var update = new NpgsqlCommand(
                    "UPDATE users SET document_type = $2, document_number = $3, updated_at = $4 WHERE id = $1", connection, transaction);
                await update.With(userId).With(document.Type).With(document.Number).With(now).ExecuteNonQueryAsync(cancellationToken);
            }
            catch (PostgresException e) when (e.IsUniqueViolation("users_document_unique"))
            {
                return Problems.DocumentTaken();
            }
            await tierChanges.RecordAsync(transaction, userId, tier, KycTiers.DocumentAccepted, KycStatuses.DocumentAccepted,
                $"{document.Type} number accepted", now, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
        return (await GetStatusAsync(userId, cancellationToken))!;
    }

    /// <summary>Tier 1 to 2 begins: the active provider starts a check and its webhook finishes it.</summary>
    public async Task<Outcome<KycCheckView>> StartCheckAsync(Guid userId, StartCheckRequest request, CancellationToken cancellationToken)
    {
        var errors = new FieldErrors();
        if (!IsLegalName(request.FirstName))
        {
            errors.Add("firstName", "Enter your first name as it appears on your document.");
        }
        if (!IsLegalName(request.LastName))
        {
            errors.Add("lastName", "Enter your last name as it appears on your document.");
        }
        if (errors.Any)
        {
            return Outcome<KycCheckView>.Invalid(errors.ToDictionary());
        }

        var account = await accounts.FindByIdAsync(userId, cancellationToken);
        if (account is null)
        {
            return Problems.UserNotFound();
        }
        if (account.KycTier < KycTiers.DocumentAccepted)
        {
            return Problems.KycTierTooLow(KycTiers.DocumentAccepted);
        }
        if (account.KycTier >= KycTiers.Verified)
        {
            return Problems.KycAlreadyAtTier(account.KycTier);
        }
        if (providers.Active is not { } provider)
        {
            return Problems.KycProviderUnavailable();
        }

        // The provider bills every check it starts, so the player's one open check is claimed first: of two starts sent at
        // once, only the one whose claim commits calls the provider. No connection is held through the provider's call.
        var claimedAt = time.GetUtcNow();
        var claimId = await checks.ClaimAsync(userId, provider.Name, claimedAt, claimedAt - ClaimLifetime, cancellationToken);
        if (claimId is not { } id)
        {
            return Problems.KycCheckInProgress();
        }

        string providerCheckId;
        try
        {
            // A client gone before the call is sent bills nothing: its claim is released below.
            cancellationToken.ThrowIfCancellationRequested();
            // Once sent, the call is not abandoned when the client goes: the provider may have started (and billed) the
            // check already, and only its answer lets it be recorded. So it gets no token of the request; the provider's
            // own timeout bounds it (Onfido's client cuts each of its two POSTs off after 10 s, within ClaimLifetime).
            providerCheckId = await provider.StartCheckAsync(
                new KycApplicant(userId, account.Email, request.FirstName!.Trim(), request.LastName!.Trim(), account.DateOfBirth, account.Country),
                CancellationToken.None);
        }
        catch (Exception e)
        {
            // Not cancellationToken: a client that went away must not leave its claim blocking the player.
            await checks.ReleaseClaimAsync(id, CancellationToken.None);
            if (e is KycApplicantRefusedException refused)
            {
                return Problems.KycDetailsRefused(refused.Fields); // a permanent refusal: "try again later" would only repeat it
            }
            if (e is HttpRequestException)
            {
                return Problems.KycProviderUnavailable();
            }
            throw;
        }

        // The provider has started (and billed) the check: it is recorded even if the client has gone meanwhile, or its
        // webhooks would find no check and the player could start, and pay for, another once the claim goes stale.
        var recording = CancellationToken.None;
        var now = time.GetUtcNow();
        await using var connection = await db.OpenConnectionAsync(recording);
        await using var transaction = await connection.BeginTransactionAsync(recording);
        var tier = await KycTierChanges.LockTierAsync(transaction, userId, recording) ?? KycTiers.Unverified;
        if (!await KycChecks.CompleteClaimAsync(transaction, id, providerCheckId, recording))
        {
            return Problems.KycCheckInProgress(); // the call outlived ClaimLifetime and another start took the claim over
        }
        await tierChanges.RecordAsync(transaction, userId, tier, tier, KycStatuses.CheckPending, $"identity check started with {provider.Name}", now, recording);
        await transaction.CommitAsync(recording);
        return KycCheckView.From(new KycCheck(id, userId, provider.Name, providerCheckId, KycCheckStatus.Pending, null, claimedAt, null, null));
    }

    private static bool IsLegalName(string? name) => name?.Trim() is { Length: >= 1 and <= 64 } trimmed && !trimmed.Any(char.IsControl);
}
