using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using StreamBets.Users.Kyc;

namespace StreamBets.Users.Tests;

/// <summary>The Users service with Onfido as its provider, Onfido's API answered by <see cref="OnfidoApi"/>.</summary>
public sealed class OnfidoTestApp : AccountsTestApp
{
    public const string OnfidoWebhookToken = "onfido-webhook-token-for-tests";
    public const string OnfidoApiToken = "api_sandbox.test-token";

    public OnfidoApi Onfido { get; } = new();

    protected override IEnumerable<KeyValuePair<string, string>> Settings() =>
    [
        .. base.Settings().Where(setting => setting.Key != "Kyc:Provider"),
        new("Kyc:Provider", "onfido"),
        new("Kyc:Onfido:ApiToken", OnfidoApiToken),
        new("Kyc:Onfido:WebhookToken", OnfidoWebhookToken),
    ];

    protected override void ConfigureServices(IServiceCollection services) =>
        services.AddHttpClient(OnfidoKycProvider.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => new OnfidoApi.Handler(Onfido));
}

/// <summary>Answers Onfido v3.6's applicant and check endpoints with their documented shapes and records the requests.</summary>
public sealed class OnfidoApi
{
    public ConcurrentQueue<(HttpMethod Method, string Path, string? Authorization, JsonElement? Body)> Requests { get; } = new();
    public ConcurrentDictionary<string, string> CheckResults { get; } = new();
    public ConcurrentDictionary<string, JsonElement> Applicants { get; } = new();
    public ConcurrentDictionary<string, JsonElement> Checks { get; } = new();

    public sealed class Handler(OnfidoApi api) : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var path = request.RequestUri!.AbsolutePath;
            JsonElement? body = request.Content is null ? null : JsonSerializer.Deserialize<JsonElement>(await request.Content.ReadAsStringAsync(cancellationToken));
            api.Requests.Enqueue((request.Method, path, request.Headers.Authorization?.ToString(), body));

            if (request.Method == HttpMethod.Post && path == "/v3.6/applicants")
            {
                var id = Guid.NewGuid().ToString();
                api.Applicants[id] = body!.Value;
                return Json(HttpStatusCode.Created, new { id, first_name = body.Value.GetProperty("first_name").GetString() });
            }
            if (request.Method == HttpMethod.Post && path == "/v3.6/checks")
            {
                var checkId = Guid.NewGuid().ToString();
                api.CheckResults[checkId] = "clear";
                api.Checks[checkId] = body!.Value;
                return Json(HttpStatusCode.Created, new { id = checkId, status = "in_progress", result = (string?)null, applicant_id = body.Value.GetProperty("applicant_id").GetString() });
            }
            if (request.Method == HttpMethod.Get && path.StartsWith("/v3.6/checks/", StringComparison.Ordinal))
            {
                var id = path["/v3.6/checks/".Length..];
                return api.CheckResults.TryGetValue(id, out var result)
                    ? Json(HttpStatusCode.OK, new { id, status = "complete", result, href = $"/v3.6/checks/{id}" })
                    : new HttpResponseMessage(HttpStatusCode.NotFound);
            }
            return new HttpResponseMessage(HttpStatusCode.NotFound);
        }

        private static HttpResponseMessage Json(HttpStatusCode status, object body) => new(status) { Content = JsonContent.Create(body) };
    }
}

public sealed class KycOnfidoTests(OnfidoTestApp app) : IClassFixture<OnfidoTestApp>
{
    [Fact]
    public async Task An_Onfido_check_starts_through_its_API_and_its_signed_webhook_completes_it()
    {
        var player = await app.NewPlayerAsync();

        var check = await KycTests.StartCheckAsync(player, lastName: "Souza");
        using var onfido = app.CreateClient();
        var body = KycTests.DocumentedCheckCompleted(check.ProviderCheckId);
        var delivery = await KycTests.PostWebhookAsync(onfido, "onfido", body, KycTests.Sign(body, OnfidoTestApp.OnfidoWebhookToken));

        Assert.Equal(HttpStatusCode.OK, delivery.StatusCode);
        Assert.Equal(2, (await KycTests.StatusAsync(player)).Tier);
        var created = app.Onfido.Checks[check.ProviderCheckId];
        Assert.Equal(["document", "facial_similarity_photo"], created.GetProperty("report_names").EnumerateArray().Select(e => e.GetString()));
        var applicant = app.Onfido.Applicants[created.GetProperty("applicant_id").GetString()!];
        Assert.Equal(("Ana", "Souza", "1990-05-17", player.Email), (applicant.GetProperty("first_name").GetString(),
            applicant.GetProperty("last_name").GetString(), applicant.GetProperty("dob").GetString(), applicant.GetProperty("email").GetString()));
        var requests = app.Onfido.Requests.ToList();
        Assert.All(requests, r => Assert.Equal($"Token token={OnfidoTestApp.OnfidoApiToken}", r.Authorization));
        Assert.Contains(requests, r => r.Method == HttpMethod.Get && r.Path == $"/v3.6/checks/{check.ProviderCheckId}");
    }

    [Fact]
    public async Task A_consider_result_from_Onfido_goes_to_the_review_queue()
    {
        var player = await app.NewPlayerAsync();
        var check = await KycTests.StartCheckAsync(player);
        app.Onfido.CheckResults[check.ProviderCheckId] = "consider";
        using var onfido = app.CreateClient();
        var body = KycTests.DocumentedCheckCompleted(check.ProviderCheckId);

        await KycTests.PostWebhookAsync(onfido, "onfido", body, KycTests.Sign(body, OnfidoTestApp.OnfidoWebhookToken));

        var status = await KycTests.StatusAsync(player);
        Assert.Equal((1, "review"), (status.Tier, status.LatestCheck!.Status));
    }

    [Fact]
    public async Task Each_provider_has_its_own_webhook_key()
    {
        var player = await app.NewPlayerAsync();
        var check = await KycTests.StartCheckAsync(player);
        using var onfido = app.CreateClient();
        var body = KycTests.DocumentedCheckCompleted(check.ProviderCheckId);

        var response = await KycTests.PostWebhookAsync(onfido, "onfido", body, KycTests.Sign(body, AccountsTestApp.SandboxWebhookToken));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(1, (await KycTests.StatusAsync(player)).Tier);
    }

    [Fact]
    public async Task Events_other_than_check_completion_are_acknowledged_and_ignored()
    {
        using var onfido = app.CreateClient();
        var body = """{"payload":{"resource_type":"report","action":"report.completed","object":{"id":"bbbbbbbb-cccc-dddd-eeee-ffffffffffff","status":"complete","completed_at_iso8601":"2022-02-18T03:10:34Z","href":"https://api.eu.onfido.com/v3.6/reports/bbbbbbbb-cccc-dddd-eeee-ffffffffffff"}}}""";

        var response = await KycTests.PostWebhookAsync(onfido, "onfido", body, KycTests.Sign(body, OnfidoTestApp.OnfidoWebhookToken));

        Assert.Equal("ignored", (await response.Content.ReadFromJsonAsync<WebhookReceipt>())!.Outcome);
    }
}
