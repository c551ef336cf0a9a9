using Microsoft.AspNetCore.Identity;
using System.Text.Json;
using Npgsql;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;
using StreamBets.Users.Data;
using StreamBets.Users.Kyc;
using Roles = Microsoft.Extensions.Hosting.AuthenticationDefaults.Roles;

namespace StreamBets.Users.Accounts;

/// <summary>
/// Fields arrive as strings so that every malformed one becomes a field error, not an unreadable body; the opt-in as
/// whatever JSON was sent (absent means no), for the same reason. (No default value in the signature: the OpenAPI
/// generator cannot write a JsonElement's, and the whole document answered 500.)
/// </summary>
public sealed record RegistrationRequest(
    string? Email, string? Password, string? DisplayName, string? DateOfBirth, string? Country, string? Cpf, JsonElement MarketingOptIn);

/// <summary>
/// Creates accounts. A request is validated completely before anything is written; the account, its
/// KYC tier-1 record (a Brazilian CPF is checked at once) and UserRegistered commit in one transaction.
/// </summary>
public sealed class AccountRegistration(
    NpgsqlDataSource db, AccountStore accounts, IPasswordHasher<UserAccount> hasher, KycTierChanges kycChanges, IOutbox outbox, TimeProvider time)
{
    public async Task<Outcome<UserAccount>> RegisterAsync(RegistrationRequest request, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var errors = new FieldErrors();

        if (!AccountRules.TryNormalizeEmail(request.Email, out var email))
        {
            errors.Add("email", "Enter a valid email address.");
        }
        else if (AccountRules.HasQuotedLocalPart(email))
        {
            errors.Add("email", AccountRules.QuotedEmailRule);
        }
        if (AccountRules.PasswordProblem(request.Password, email) is { } passwordProblem)
        {
            errors.Add("password", passwordProblem);
        }
        if (!AccountRules.TryNormalizeDisplayName(request.DisplayName, out var displayName))
        {
            errors.Add("displayName", AccountRules.DisplayNameRule);
        }
        if (!AccountRules.TryParseDateOfBirth(request.DateOfBirth, out var dateOfBirth))
        {
            errors.Add("dateOfBirth", "Enter the date of birth as yyyy-MM-dd.");
        }
        else if (!AccountRules.IsAdult(dateOfBirth, AccountRules.AgeDate(time.GetUtcNow())))
        {
            errors.Add("dateOfBirth", $"You must be at least {AccountRules.MinimumAge} years old.");
        }

        var marketingOptIn = request.MarketingOptIn.ValueKind switch
        {
            JsonValueKind.Undefined or JsonValueKind.False => false,
            JsonValueKind.True => true,
            _ => (bool?)null,
        };
        if (marketingOptIn is null)
        {
            errors.Add("marketingOptIn", "Send true or false, or leave it out for no.");
        }

        IdentityDocument? document = null;
        if (!Countries.TryNormalize(request.Country, out var country))
        {
            errors.Add("country", "Enter an ISO 3166-1 alpha-2 country code, such as BR.");
        }
        else if (country == Countries.Brazil)
        {
            if (!IdentityDocument.TryCreate(country, IdentityDocument.CpfType, request.Cpf, out var cpf, out var cpfProblem))
            {
                errors.Add("cpf", cpfProblem);
            }
            document = cpf;
        }
        else if (!string.IsNullOrWhiteSpace(request.Cpf))
        {
            errors.Add("cpf", "A CPF is asked only of players in Brazil.");
        }

        if (errors.Any)
        {
            return Outcome<UserAccount>.Invalid(errors.ToDictionary());
        }

        var account = new UserAccount(Guid.CreateVersion7(now), email, "", displayName, dateOfBirth, country, document,
            Roles.Player, KycTiers.Unverified, AvatarUrl: null, marketingOptIn!.Value, now);
        account = account with { PasswordHash = hasher.HashPassword(account, request.Password!) };

        // The unique index cannot see an account stored with its domain in punycode before domains were stored in Unicode.
        if (await accounts.FindByEmailAsync(email, cancellationToken) is not null)
        {
            return Problems.EmailTaken();
        }

        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        try
        {
            await AccountStore.InsertAsync(connection, transaction, account, cancellationToken);
        }
        catch (PostgresException e) when (e.IsUniqueViolation("users_email_unique"))
        {
            return Problems.EmailTaken();
        }
        catch (PostgresException e) when (e.IsUniqueViolation("users_document_unique"))
        {
            return Problems.DocumentTaken();
        }

        // UserRegistered first: consumers see the account before any change to it.
        await outbox.AddAsync(transaction, new UserRegistered(account.Id, account.DisplayName, account.Role, now), cancellationToken);
        if (document is not null)
        {
            await kycChanges.RecordAsync(transaction, account.Id, KycTiers.Unverified, KycTiers.DocumentAccepted,
                KycStatuses.DocumentAccepted, "CPF given at registration", now, cancellationToken);
            account = account with { KycTier = KycTiers.DocumentAccepted };
        }
        await transaction.CommitAsync(cancellationToken);
        return account;
    }
}
