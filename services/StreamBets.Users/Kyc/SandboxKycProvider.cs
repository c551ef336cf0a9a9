using System.Security.Cryptography;
using Microsoft.Extensions.Options;

namespace StreamBets.Users.Kyc;

/// <summary>
/// The local-mode provider. Like Onfido's sandbox it decides by test data: an applicant whose last name
/// is "Consider" gets result consider (the manual review queue), anyone else clear. The decision is
/// encoded in the check id, so nothing is lost on restart. <see cref="SandboxKycCompleter"/> delivers
/// the check.completed webhooks.
/// </summary>
public sealed class SandboxKycProvider(IOptions<KycOptions> options) : IKycProvider
{
    public const string ProviderName = "sandbox";
    private const string IdPrefix = "sandbox-";

    private readonly string _webhookToken = options.Value.Sandbox.WebhookToken is { Length: > 0 } token
        ? token
        : Convert.ToHexString(RandomNumberGenerator.GetBytes(32));

    public string Name => ProviderName;

    public bool IsConfigured => string.Equals(options.Value.Provider, ProviderName, StringComparison.OrdinalIgnoreCase);

    public string WebhookToken => _webhookToken;

    public Task<string> StartCheckAsync(KycApplicant applicant, CancellationToken cancellationToken)
    {
        var result = string.Equals(applicant.LastName, "Consider", StringComparison.OrdinalIgnoreCase) ? KycCheckResult.Consider : KycCheckResult.Clear;
        return Task.FromResult($"{IdPrefix}{result.Word()}-{Guid.NewGuid():N}");
    }

    public Task<KycCheckResult?> GetCheckResultAsync(string providerCheckId, CancellationToken cancellationToken) =>
        Task.FromResult(providerCheckId.StartsWith(IdPrefix, StringComparison.Ordinal)
            ? KycCheckResults.Parse(providerCheckId[IdPrefix.Length..].Split('-')[0])
            : null);

    /// <summary>The body Onfido would send for a completed check, as documented.</summary>
    public static OnfidoWebhookEnvelope CompletedWebhook(string providerCheckId, DateTimeOffset completedAt) => new(
        new OnfidoWebhookPayload("check", "check.completed",
            new OnfidoWebhookObject(providerCheckId, "complete", completedAt, $"sandbox://checks/{providerCheckId}")));
}
