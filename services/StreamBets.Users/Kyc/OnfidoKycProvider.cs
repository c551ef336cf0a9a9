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
public sealed partial class OnfidoKycProvider(IHttpClientFactory httpClients, IOptions<KycOptions> options, ILogger<OnfidoKycProvider> logger) : IKycProvider
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

    /// <exception cref="HttpRequestException">Onfido gave no usable answer, or refused a request of ours.</exception>
    /// <exception cref="KycApplicantRefusedException">Onfido refused the applicant's details.</exception>
    public Task<string> StartCheckAsync(KycApplicant applicant, CancellationToken cancellationToken) => AnswerOfAsync(async () =>
    {
        var http = httpClients.CreateClient(HttpClientName);
        var created = await SendAsync<OnfidoResource>(http, HttpMethod.Post, "applicants", new OnfidoApplicantRequest(
            applicant.FirstName, applicant.LastName, applicant.Email, applicant.DateOfBirth.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture)),
            cancellationToken);
        var check = await SendAsync<OnfidoResource>(http, HttpMethod.Post, "checks", new OnfidoCheckRequest(created.Id, options.Value.Onfido.ReportNames), cancellationToken);
        return check.Id;
    }, cancellationToken);

    /// <exception cref="HttpRequestException">Onfido gave no usable answer, or refused a request of ours.</exception>
    public Task<KycCheckResult?> GetCheckResultAsync(string providerCheckId, CancellationToken cancellationToken) => AnswerOfAsync(async () =>
    {
        var http = httpClients.CreateClient(HttpClientName);
        var check = await SendAsync<OnfidoResource>(http, HttpMethod.Get, $"checks/{Uri.EscapeDataString(providerCheckId)}", null, cancellationToken);
        return check.Status switch
        {
            "complete" => KycCheckResults.Parse(check.Result),
            "withdrawn" => KycCheckResult.Withdrawn,
            _ => null, // in_progress, awaiting_applicant, reopened, paused: a result may come yet
        };
    }, cancellationToken);

    /// <summary>
    /// Every way Onfido can fail to answer (a timeout or open circuit of the resilience pipeline, no connection, a body that
    /// is not the JSON documented) is logged as OnfidoUnavailable and thrown as one HttpRequestException, which callers answer
    /// with 503 kyc-provider-unavailable. Refusals (an error status) were logged where they were read and pass through.
    /// </summary>
    private async Task<T> AnswerOfAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call();
        }
        catch (Exception e) when (e is ExecutionRejectedException or JsonException or NotSupportedException or HttpRequestException { StatusCode: null }
            || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            LogUnavailable(logger, null, e.GetType().Name, e);
            throw new HttpRequestException("Onfido gave no usable answer.", e);
        }
    }

    private async Task<T> SendAsync<T>(HttpClient http, HttpMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body, options: OnfidoWebhookEnvelope.Json) };
        using var response = await http.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw await RefusalAsync(method, path, response, cancellationToken);
        }
        return await ReadJsonAsync<T>(response.Content, cancellationToken)
            ?? throw new HttpRequestException($"Onfido answered an empty body for {path}.");
    }

    /// <summary>
    /// A body as the UTF-8 JSON Onfido documents, whatever charset its Content-Type names: ReadFromJsonAsync would throw an
    /// InvalidOperationException for an unknown one (a proxy's error page), which no caller takes for "no usable answer".
    /// </summary>
    private static async Task<T?> ReadJsonAsync<T>(HttpContent content, CancellationToken cancellationToken)
    {
        await using var body = await content.ReadAsStreamAsync(cancellationToken);
        return await JsonSerializer.DeserializeAsync<T>(body, OnfidoWebhookEnvelope.Json, cancellationToken);
    }

    /// <summary>
    /// Logs an error status at the level it deserves and answers what to throw for it. Only a 422 that names nothing but the
    /// applicant's own fields is the player's to fix; any other refusal is ours (a 401/403: our token) or Onfido's passing
    /// trouble, and the player is told to try later. Field messages may quote the applicant's data, so only field names are
    /// logged or shown.
    /// </summary>
    private async Task<Exception> RefusalAsync(HttpMethod method, string path, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        var error = await ReadErrorAsync(response, cancellationToken);
        var fields = error?.Fields?.Keys.ToArray() ?? [];
        switch (status)
        {
            case 401 or 403:
                LogCredentialsRefused(logger, status, method.Method, path, error?.Type, Scrubbed(error?.Message));
                break;
            case 422 when path == "applicants" && fields.Length > 0 && fields.All(ApplicantFields.ContainsKey):
                LogApplicantRefused(logger, status, error?.Type, string.Join(", ", fields));
                return new KycApplicantRefusedException([.. fields.Select(field => ApplicantFields[field])]);
            case 429 or >= 500:
                LogUnavailable(logger, status, error?.Type, null);
                break;
            default:
                LogRequestRefused(logger, status, method.Method, path, error?.Type, Scrubbed(error?.Message), string.Join(", ", fields));
                break;
        }
        return new HttpRequestException($"Onfido answered {status} to {method} {path}.", null, response.StatusCode);
    }

    /// <summary>Onfido's error body, <c>{"error": {"type", "message", "fields": {name: [messages]}}}</c>; null when it is not one.</summary>
    private static async Task<OnfidoError?> ReadErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            return (await ReadJsonAsync<OnfidoErrorBody>(response.Content, cancellationToken))?.Error;
        }
        catch (Exception e) when (e is JsonException or NotSupportedException)
        {
            return null;
        }
    }

    /// <summary>Onfido's own words, short, and never our token even if it were quoted back.</summary>
    private string? Scrubbed(string? message)
    {
        if (message is not null && options.Value.Onfido.ApiToken is { Length: > 0 } token)
        {
            message = message.Replace(token, "[token]", StringComparison.Ordinal);
        }
        return message is { Length: > 200 } ? message[..200] : message;
    }

    /// <summary>The applicant fields we send, by Onfido's name, as the player knows them (request and profile).</summary>
    private static readonly Dictionary<string, string> ApplicantFields = new(StringComparer.Ordinal)
    {
        ["first_name"] = "firstName",
        ["last_name"] = "lastName",
        ["email"] = "email",
        ["dob"] = "dateOfBirth",
    };

    [LoggerMessage(EventId = 320, EventName = "OnfidoCredentialsRefused", Level = LogLevel.Error,
        Message = "Onfido refused our API token with {StatusCode} to {Method} {Path} ({ErrorType}: {ErrorMessage}); no KYC check starts or completes until Kyc:Onfido:ApiToken is fixed")]
    private static partial void LogCredentialsRefused(ILogger logger, int statusCode, string method, string path, string? errorType, string? errorMessage);

    [LoggerMessage(EventId = 321, EventName = "OnfidoRequestRefused", Level = LogLevel.Error,
        Message = "Onfido refused {Method} {Path} with {StatusCode} ({ErrorType}: {ErrorMessage}; fields: {Fields})")]
    private static partial void LogRequestRefused(ILogger logger, int statusCode, string method, string path, string? errorType, string? errorMessage, string fields);

    [LoggerMessage(EventId = 322, EventName = "OnfidoApplicantRefused", Level = LogLevel.Warning,
        Message = "Onfido refused an applicant's {Fields} with {StatusCode} ({ErrorType}); the player was told which")]
    private static partial void LogApplicantRefused(ILogger logger, int statusCode, string? errorType, string fields);

    [LoggerMessage(EventId = 323, EventName = "OnfidoUnavailable", Level = LogLevel.Warning,
        Message = "Onfido gave no usable answer ({StatusCode} {Failure}); the player or webhook is told to try again")]
    private static partial void LogUnavailable(ILogger logger, int? statusCode, string? failure, Exception? exception);

    private sealed record OnfidoApplicantRequest(string FirstName, string LastName, string Email, string Dob);

    private sealed record OnfidoCheckRequest(string ApplicantId, string[] ReportNames);

    private sealed record OnfidoResource(string Id, string? Status = null, string? Result = null);

    private sealed record OnfidoErrorBody(OnfidoError? Error);

    private sealed record OnfidoError(string? Type, string? Message, Dictionary<string, JsonElement>? Fields);
}
