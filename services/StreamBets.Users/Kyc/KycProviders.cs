using Microsoft.Extensions.Options;

namespace StreamBets.Users.Kyc;

/// <summary>The person a check is about, with the legal name as it appears on their document.</summary>
public sealed record KycApplicant(Guid UserId, string Email, string FirstName, string LastName, DateOnly DateOfBirth, string Country);

/// <summary>
/// What a provider tells of a check, in Onfido's words: a completed check's overall result (clear passes, consider needs a
/// person to look), or that the check was withdrawn and will never complete.
/// </summary>
public enum KycCheckResult
{
    Clear,
    Consider,
    Withdrawn,
}

/// <summary>
/// An identity verification provider, shaped like Onfido and Jumio: a check is started for an applicant
/// (documents and selfie are captured by the provider's own SDK), and its completion arrives later as a
/// signed webhook, after which the result can be fetched.
/// </summary>
public interface IKycProvider
{
    string Name { get; }

    /// <summary>Only configured providers start checks or accept webhooks.</summary>
    bool IsConfigured { get; }

    /// <summary>The secret that keys the HMAC-SHA256 signature of this provider's webhooks.</summary>
    string WebhookToken { get; }

    /// <summary>
    /// Starts a check and answers the provider's check id. Called without the player's request token (a check the
    /// provider started must be recorded), so an implementation bounds its own calls with a timeout.
    /// </summary>
    /// <exception cref="HttpRequestException">The provider gave no usable answer or refused us (logged by the provider): try later.</exception>
    /// <exception cref="KycApplicantRefusedException">The provider refused the applicant's details: retrying them cannot succeed.</exception>
    Task<string> StartCheckAsync(KycApplicant applicant, CancellationToken cancellationToken);

    /// <summary>The overall result of a completed check, or <see cref="KycCheckResult.Withdrawn"/>; null while it is neither.</summary>
    Task<KycCheckResult?> GetCheckResultAsync(string providerCheckId, CancellationToken cancellationToken);
}

/// <summary>
/// A provider refused the applicant's details as sent (Onfido's 422 validation_error), named by <see cref="Fields"/>, the
/// player's names for them (firstName, lastName, email, dateOfBirth). The provider's own words are left out: they may
/// quote the data.
/// </summary>
public sealed class KycApplicantRefusedException(IReadOnlyList<string> fields)
    : Exception($"The identity provider refused the applicant's {string.Join(", ", fields)}.")
{
    public IReadOnlyList<string> Fields { get; } = fields;
}

/// <summary>Finds providers by name; <see cref="Active"/> is the one new checks go to.</summary>
public sealed class KycProviders(IEnumerable<IKycProvider> providers, IOptions<KycOptions> options)
{
    public IKycProvider? Find(string name) =>
        providers.FirstOrDefault(p => p.IsConfigured && string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));

    public IKycProvider? Active => options.Value.Provider is { Length: > 0 } name ? Find(name) : null;

    /// <summary>Every provider that accepts webhooks, the active one or not: checks started before a switch still complete.</summary>
    public IEnumerable<IKycProvider> Configured => providers.Where(p => p.IsConfigured);
}

/// <summary>Onfido's check result words (a withdrawn check has none: withdrawn is its status).</summary>
public static class KycCheckResults
{
    public static KycCheckResult? Parse(string? result) => result switch
    {
        "clear" => KycCheckResult.Clear,
        "consider" => KycCheckResult.Consider,
        _ => null,
    };

    public static string Word(this KycCheckResult result) => result switch
    {
        KycCheckResult.Clear => "clear",
        KycCheckResult.Consider => "consider",
        _ => throw new ArgumentOutOfRangeException(nameof(result), result, "A withdrawn check has no result word."),
    };
}
