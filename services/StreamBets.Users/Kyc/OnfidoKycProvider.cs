using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;

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

    /// <summary>
    /// The client's resilience handler retries reads only: a POST that timed out may have created its applicant or
    /// check at Onfido, and a second one would create another, whose webhooks name a check we never stored. The rest is
    /// the standard handler's defaults: each attempt is cut off after 10 s (so a POST, its only attempt, too), and a
    /// read's retries end within 30 s in all.
    /// </summary>
    public static void AddHttpClient(IServiceCollection services, OnfidoOptions onfido) =>
#pragma warning disable EXTEXP0001 // RemoveAllResilienceHandlers is marked experimental; it is the documented way to opt a client out of the defaults.
        services.AddHttpClient(HttpClientName, http => ConfigureClient(http, onfido))
            .RemoveAllResilienceHandlers()
            .AddStandardResilienceHandler(resilience => resilience.Retry.DisableForUnsafeHttpMethods());
#pragma warning restore EXTEXP0001

    /// <exception cref="HttpRequestException">Onfido gave no usable answer.</exception>
    public Task<string> StartCheckAsync(KycApplicant applicant, CancellationToken cancellationToken) => AnswerOfAsync(async () =>
    {
        var http = httpClients.CreateClient(HttpClientName);
        var created = await PostAsync<OnfidoResource>(http, "applicants", new OnfidoApplicantRequest(
            applicant.FirstName, applicant.LastName, applicant.Email, applicant.DateOfBirth.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture)),
            cancellationToken);
        var check = await PostAsync<OnfidoResource>(http, "checks", new OnfidoCheckRequest(created.Id, options.Value.Onfido.ReportNames), cancellationToken);
        return check.Id;
    }, cancellationToken);

    /// <exception cref="HttpRequestException">Onfido gave no usable answer.</exception>
    public Task<KycCheckResult?> GetCheckResultAsync(string providerCheckId, CancellationToken cancellationToken) => AnswerOfAsync(async () =>
    {
        var http = httpClients.CreateClient(HttpClientName);
        var check = await http.GetFromJsonAsync<OnfidoResource>($"checks/{Uri.EscapeDataString(providerCheckId)}", OnfidoWebhookEnvelope.Json, cancellationToken)
            ?? throw new HttpRequestException("Onfido answered an empty check.");
        return check.Status == "complete" ? KycCheckResults.Parse(check.Result) : null;
    }, cancellationToken);

    /// <summary>
    /// Every way Onfido can fail to answer (a timeout or open circuit of the resilience pipeline, a body that is not the
    /// JSON documented) as one HttpRequestException, which callers answer with 503 kyc-provider-unavailable.
    /// </summary>
    private static async Task<T> AnswerOfAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call();
        }
        catch (Exception e) when (e is ExecutionRejectedException or JsonException or NotSupportedException
            || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new HttpRequestException("Onfido gave no usable answer.", e);
        }
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
