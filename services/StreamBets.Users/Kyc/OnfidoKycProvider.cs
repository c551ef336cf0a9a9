using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.Extensions.Options;

namespace StreamBets.Users.Kyc;

/// <summary>
/// Onfido API v3.6: an applicant is created, then a check with the configured reports (document and
/// facial similarity by default); the player captures document and selfie with Onfido's SDK.
/// The completed check's result is read from <c>GET /checks/{id}</c>.
/// </summary>
public sealed class OnfidoKycProvider(IHttpClientFactory httpClients, IOptions<KycOptions> options) : IKycProvider
{
    public const string ProviderName = "onfido";
    public const string HttpClientName = "onfido";

    public string Name => ProviderName;

    public bool IsConfigured => options.Value.Onfido is { ApiToken.Length: > 0, WebhookToken.Length: > 0 };

    public string WebhookToken => options.Value.Onfido.WebhookToken ?? "";

    public static void ConfigureClient(HttpClient http, OnfidoOptions onfido)
    {
        http.BaseAddress = onfido.BaseUrl;
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Token", $"token={onfido.ApiToken}");
    }

    public async Task<string> StartCheckAsync(KycApplicant applicant, CancellationToken cancellationToken)
    {
        var http = httpClients.CreateClient(HttpClientName);
        var created = await PostAsync<OnfidoResource>(http, "applicants", new OnfidoApplicantRequest(
            applicant.FirstName, applicant.LastName, applicant.Email, applicant.DateOfBirth.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture)),
            cancellationToken);
        var check = await PostAsync<OnfidoResource>(http, "checks", new OnfidoCheckRequest(created.Id, options.Value.Onfido.ReportNames), cancellationToken);
        return check.Id;
    }

    public async Task<KycCheckResult?> GetCheckResultAsync(string providerCheckId, CancellationToken cancellationToken)
    {
        var http = httpClients.CreateClient(HttpClientName);
        var check = await http.GetFromJsonAsync<OnfidoResource>($"checks/{Uri.EscapeDataString(providerCheckId)}", OnfidoWebhookEnvelope.Json, cancellationToken)
            ?? throw new HttpRequestException("Onfido answered an empty check.");
        return check.Status == "complete" ? KycCheckResults.Parse(check.Result) : null;
    }

    private static async Task<T> PostAsync<T>(HttpClient http, string path, object body, CancellationToken cancellationToken)
    {
        using var response = await http.PostAsJsonAsync(path, body, OnfidoWebhookEnvelope.Json, cancellationToken);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<T>(OnfidoWebhookEnvelope.Json, cancellationToken)
            ?? throw new HttpRequestException($"Onfido answered an empty body for {path}.");
    }

    private sealed record OnfidoApplicantRequest(string FirstName, string LastName, string Email, string Dob);

    private sealed record OnfidoCheckRequest(string ApplicantId, string[] ReportNames);

    private sealed record OnfidoResource(string Id, string? Status = null, string? Result = null);
}
