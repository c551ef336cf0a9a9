using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StreamBets.Testing;
using StreamBets.Users.Kyc;

namespace StreamBets.Users.Tests;

/// <summary>The Users service with Onfido as its provider, Onfido's API answered by <see cref="OnfidoApi"/>.</summary>
public class OnfidoTestApp : AccountsTestApp
{
    public const string OnfidoWebhookToken = "onfido-webhook-token-for-tests";
    public const string OnfidoApiToken = "api_sandbox.test-token";

    public OnfidoApi Onfido { get; } = new();
    public CollectedLogs Logs { get; } = new();

    protected override IEnumerable<KeyValuePair<string, string>> Settings() =>
    [
        .. base.Settings().Where(setting => setting.Key != "Kyc:Provider"),
        new("Kyc:Provider", "onfido"),
        new("Kyc:Onfido:ApiToken", OnfidoApiToken),
        new("Kyc:Onfido:WebhookToken", OnfidoWebhookToken),
    ];

    protected override void ConfigureServices(IServiceCollection services)
    {
        services.AddHttpClient(OnfidoKycProvider.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => new OnfidoApi.Handler(Onfido));
        services.AddSingleton<ILoggerProvider>(Logs);
    }
}

/// <summary>Answers Onfido v3.6's applicant and check endpoints with their documented shapes and records the requests.</summary>
public sealed class OnfidoApi
{
    public ConcurrentQueue<(HttpMethod Method, string Path, string? Authorization, JsonElement? Body)> Requests { get; } = new();
    public ConcurrentDictionary<string, string> CheckResults { get; } = new();
    public ConcurrentDictionary<string, JsonElement> Applicants { get; } = new();
    public ConcurrentDictionary<string, JsonElement> Checks { get; } = new();

    /// <summary>Checks GET /checks/{id} tells as not complete (in_progress, withdrawn, ...), with no result.</summary>
    public ConcurrentDictionary<string, string> CheckStatuses { get; } = new();

    /// <summary>Answers for the next check requests (POST /checks and GET /checks/{id}), before the documented ones.</summary>
    public ConcurrentQueue<Func<HttpResponseMessage>> NextCheckAnswers { get; } = new();

    /// <summary>The answer to the next GET /checks/{id} of one check, before the documented one.</summary>
    public ConcurrentDictionary<string, Func<HttpResponseMessage>> NextAnswerForCheck { get; } = new();

    /// <summary>Answers for the next POST /applicants, before the documented one.</summary>
    public ConcurrentQueue<Func<HttpResponseMessage>> NextApplicantAnswers { get; } = new();

    /// <summary>An error as Onfido v3.6 documents it: <c>{"error": {"type", "message", "fields"}}</c>.</summary>
    public static HttpResponseMessage Error(HttpStatusCode status, string type, string message, object? fields = null) =>
        new(status) { Content = JsonContent.Create(new { error = new { type, message, fields = fields ?? new { } } }) };

    private KycCheckStartTests.Hold? _nextCheckHold;

    /// <summary>
    /// Holds the answer to the next POST /checks once Onfido has created (and billed) its check: Entered then, answered
    /// when Released, unless the caller gives up first (it then never learns the check's id).
    /// </summary>
    public KycCheckStartTests.Hold HoldNextCheck() => _nextCheckHold = new KycCheckStartTests.Hold();

    public sealed class Handler(OnfidoApi api) : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var path = request.RequestUri!.AbsolutePath;
            JsonElement? body = request.Content is null ? null : JsonSerializer.Deserialize<JsonElement>(await request.Content.ReadAsStringAsync(cancellationToken));
            api.Requests.Enqueue((request.Method, path, request.Headers.Authorization?.ToString(), body));
            if (path.StartsWith("/v3.6/checks", StringComparison.Ordinal) && api.NextCheckAnswers.TryDequeue(out var answer))
            {
                return answer();
            }
            if (path == "/v3.6/applicants" && api.NextApplicantAnswers.TryDequeue(out var applicantAnswer))
            {
                return applicantAnswer();
            }

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
                if (Interlocked.Exchange(ref api._nextCheckHold, null) is { } hold)
                {
                    hold.Entered.TrySetResult();
                    await hold.Released.Task.WaitAsync(cancellationToken);
                }
                return Json(HttpStatusCode.Created, new { id = checkId, status = "in_progress", result = (string?)null, applicant_id = body.Value.GetProperty("applicant_id").GetString() });
            }
            if (request.Method == HttpMethod.Get && path.StartsWith("/v3.6/checks/", StringComparison.Ordinal))
            {
                var id = path["/v3.6/checks/".Length..];
                if (api.NextAnswerForCheck.TryRemove(id, out var checkAnswer))
                {
                    return checkAnswer();
                }
                if (api.CheckStatuses.TryGetValue(id, out var status))
                {
                    return Json(HttpStatusCode.OK, new { id, status, result = (string?)null, href = $"/v3.6/checks/{id}" });
                }
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

    public static TheoryData<string, Func<HttpResponseMessage>> UnusableAnswers => new()
    {
        { "a 503", () => new HttpResponseMessage(HttpStatusCode.ServiceUnavailable) },
        { "an HTML page", () => new HttpResponseMessage(HttpStatusCode.Created) { Content = new StringContent("<html>maintenance</html>", Encoding.UTF8, "text/html") } },
        // A proxy's error page naming a charset .NET does not know: reading it as JSON threw, and the player got a 500.
        { "a 503 page in an unknown charset", () => new HttpResponseMessage(HttpStatusCode.ServiceUnavailable)
            { Content = new StringContent("<html>busy</html>") { Headers = { ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse("text/html; charset=x-unknown") } } } },
    };

    [Theory]
    [MemberData(nameof(UnusableAnswers))]
    public async Task A_check_Onfido_cannot_start_is_a_503_logged_as_a_warning_and_its_request_is_never_sent_twice(string what, Func<HttpResponseMessage> answer)
    {
        var player = await app.NewPlayerAsync();
        app.Onfido.NextCheckAnswers.Enqueue(answer);
        var sentBefore = ChecksPosted();
        var logged = app.Logs.Records.Count;

        var response = await player.Client.PostAsJsonAsync("/api/users/me/kyc/checks", new { firstName = "Ana", lastName = "Silva" });

        Assert.True(HttpStatusCode.ServiceUnavailable == response.StatusCode, $"Onfido answering {what}: {(int)response.StatusCode}");
        Assert.Equal("https://streambets.dev/problems/kyc-provider-unavailable", (await response.Content.ReadFromJsonAsync<ProblemDetails>())!.Type);
        // A retried POST could have created a second check at Onfido, one we never stored.
        Assert.Equal(sentBefore + 1, ChecksPosted());
        Assert.Null((await KycTests.StatusAsync(player)).LatestCheck);
        // Passing trouble: a warning for the on-call, no error to page on.
        var record = Assert.Single(OnfidoRecords(logged));
        Assert.Equal(("OnfidoUnavailable", LogLevel.Warning), (record.EventName, record.Level));
    }

    [Fact]
    public async Task A_start_Onfido_refuses_our_token_for_is_a_503_to_the_player_and_an_error_naming_the_401_without_the_token()
    {
        var player = await app.NewPlayerAsync();
        app.Onfido.NextApplicantAnswers.Enqueue(() => OnfidoApi.Error(HttpStatusCode.Unauthorized, "authorization_error", "Authorization error: please re-check your credentials"));
        var sentBefore = ChecksPosted();
        var logged = app.Logs.Records.Count;

        var response = await player.Client.PostAsJsonAsync("/api/users/me/kyc/checks", new { firstName = "Ana", lastName = "Silva" });

        // Our credentials, not the player's fault: they are told to try later, and nothing was started or billed.
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("https://streambets.dev/problems/kyc-provider-unavailable", (await response.Content.ReadFromJsonAsync<ProblemDetails>())!.Type);
        Assert.Equal(sentBefore, ChecksPosted());
        Assert.Null((await KycTests.StatusAsync(player)).LatestCheck);
        var record = Assert.Single(OnfidoRecords(logged));
        Assert.Equal(("OnfidoCredentialsRefused", LogLevel.Error, 401, "authorization_error"),
            (record.EventName, record.Level, (int?)record["StatusCode"], (string?)record["ErrorType"]));
        Assert.Contains("please re-check your credentials", record.Message);
        Assert.DoesNotContain(OnfidoTestApp.OnfidoApiToken, record.AllText);
        Assert.DoesNotContain(player.Email, record.AllText);
    }

    [Fact]
    public async Task Applicant_details_Onfido_refuses_are_a_422_naming_the_fields_without_Onfidos_words()
    {
        var player = await app.NewPlayerAsync();
        // Onfido's field messages may quote what was sent.
        app.Onfido.NextApplicantAnswers.Enqueue(() => OnfidoApi.Error((HttpStatusCode)422, "validation_error", "There was a validation error on this request",
            new { last_name = new[] { "Silva#2 contains invalid characters" }, dob = new[] { "must be a valid date" } }));
        var sentBefore = ChecksPosted();
        var logged = app.Logs.Records.Count;

        var response = await player.Client.PostAsJsonAsync("/api/users/me/kyc/checks", new { firstName = "Ana", lastName = "Silva#2" });

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var problem = (await response.Content.ReadFromJsonAsync<ProblemDetails>())!;
        Assert.Equal(("https://streambets.dev/problems/kyc-details-refused", 422), (problem.Type, problem.Status));
        Assert.Contains("lastName", problem.Detail);
        Assert.Contains("dateOfBirth", problem.Detail);
        Assert.Contains("contact support", problem.Detail); // the date of birth is the account's: no retry mends it
        Assert.DoesNotContain("Silva#2", problem.Detail);
        Assert.DoesNotContain("invalid characters", problem.Detail);
        // Refused before any check was created: nothing billed, no claim left, the player may correct and start again.
        Assert.Equal(sentBefore, ChecksPosted());
        Assert.Null((await KycTests.StatusAsync(player)).LatestCheck);
        var record = Assert.Single(OnfidoRecords(logged));
        Assert.Equal(("OnfidoApplicantRefused", LogLevel.Warning, 422, "last_name, dob"), (record.EventName, record.Level, (int?)record["StatusCode"], (string?)record["Fields"]));
        Assert.DoesNotContain("Silva#2", record.AllText);
    }

    [Fact]
    public async Task A_completion_Onfido_refuses_our_token_for_is_a_503_to_the_webhook_and_an_error_naming_the_401()
    {
        var player = await app.NewPlayerAsync();
        var check = await KycTests.StartCheckAsync(player);
        using var onfido = app.CreateClient();
        var body = KycTests.DocumentedCheckCompleted(check.ProviderCheckId); // no result: it is read from GET /checks/{id}
        app.Onfido.NextCheckAnswers.Enqueue(() => OnfidoApi.Error(HttpStatusCode.Unauthorized, "authorization_error", "Authorization error: please re-check your credentials"));
        var logged = app.Logs.Records.Count;

        var response = await KycTests.PostWebhookAsync(onfido, "onfido", body, KycTests.Sign(body, OnfidoTestApp.OnfidoWebhookToken));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(1, (await KycTests.StatusAsync(player)).Tier);
        var record = Assert.Single(OnfidoRecords(logged));
        Assert.Equal(("OnfidoCredentialsRefused", LogLevel.Error, 401, "GET"), (record.EventName, record.Level, (int?)record["StatusCode"], (string?)record["Method"]));
        Assert.DoesNotContain(OnfidoTestApp.OnfidoApiToken, record.AllText);
    }

    /// <summary>What the Onfido provider logged since <paramref name="logged"/> records had been.</summary>
    private IEnumerable<LogRecord> OnfidoRecords(int logged) =>
        app.Logs.Records.Skip(logged).Where(r => r.Category == typeof(OnfidoKycProvider).FullName);

    [Fact]
    public async Task A_player_who_leaves_after_Onfido_started_the_check_is_billed_once_and_a_new_start_is_told_a_check_is_in_progress()
    {
        var player = await app.NewPlayerAsync();
        var sentBefore = ChecksPosted();
        var held = app.Onfido.HoldNextCheck();
        using var leaving = new CancellationTokenSource();

        var start = player.Client.PostAsJsonAsync("/api/users/me/kyc/checks", new { firstName = "Ana", lastName = "Silva" }, leaving.Token);
        await held.Entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        leaving.Cancel(); // the browser closed after Onfido received POST /checks, before its answer arrived
        held.Released.SetResult();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => start);
        // The abandoned start has finished once no claim without a provider check id is left.
        Assert.True(await StreamBets.Testing.Eventually.HoldsAsync(async () =>
            await app.ScalarAsync<long>("SELECT count(*) FROM kyc_checks WHERE user_id = $1 AND provider_check_id IS NULL", player.Id) == 0,
            TimeSpan.FromSeconds(10)));
        var again = await player.Client.PostAsJsonAsync("/api/users/me/kyc/checks", new { firstName = "Ana", lastName = "Silva" });

        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("https://streambets.dev/problems/kyc-check-in-progress", (await again.Content.ReadFromJsonAsync<ProblemDetails>())!.Type);
        Assert.Equal(sentBefore + 1, ChecksPosted());
        // The check Onfido started is the player's pending one, so its webhook finds it.
        var created = Assert.Single(app.Onfido.Checks, c => app.Onfido.Applicants[c.Value.GetProperty("applicant_id").GetString()!].GetProperty("email").GetString() == player.Email);
        var latest = (await KycTests.StatusAsync(player)).LatestCheck!;
        Assert.Equal((created.Key, "pending"), (latest.ProviderCheckId, latest.Status));
    }

    private int ChecksPosted() => app.Onfido.Requests.Count(r => r.Method == HttpMethod.Post && r.Path == "/v3.6/checks");

    [Fact]
    public async Task A_completion_whose_result_Onfido_cannot_tell_is_answered_503_so_Onfido_delivers_it_again()
    {
        var player = await app.NewPlayerAsync();
        var check = await KycTests.StartCheckAsync(player);
        using var onfido = app.CreateClient();
        var body = KycTests.DocumentedCheckCompleted(check.ProviderCheckId); // no result: it is read from GET /checks/{id}
        // A 2xx page that is not the documented JSON (a 5xx would be retried by the resilience handler, for seconds).
        app.Onfido.NextCheckAnswers.Enqueue(() => new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("<html>maintenance</html>", Encoding.UTF8, "text/html") });

        var failed = await KycTests.PostWebhookAsync(onfido, "onfido", body, KycTests.Sign(body, OnfidoTestApp.OnfidoWebhookToken));
        var redelivered = await KycTests.PostWebhookAsync(onfido, "onfido", body, KycTests.Sign(body, OnfidoTestApp.OnfidoWebhookToken));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
        Assert.Equal(HttpStatusCode.OK, redelivered.StatusCode);
        Assert.Equal(2, (await KycTests.StatusAsync(player)).Tier);
    }

    public static TheoryData<string, string?> UntoldResults => new()
    {
        { "in_progress", null }, // Onfido's read lagging its webhook
        { "reopened", null },
        { "paused", null },
        { "complete", "unidentified" }, // a result word we do not know
    };

    [Theory]
    [MemberData(nameof(UntoldResults))]
    public async Task A_completion_whose_check_Onfido_does_not_yet_tell_as_clear_or_consider_is_503_and_its_redelivery_verifies_the_player(string status, string? result)
    {
        var player = await app.NewPlayerAsync();
        var check = await KycTests.StartCheckAsync(player);
        using var onfido = app.CreateClient();
        var body = KycTests.DocumentedCheckCompleted(check.ProviderCheckId); // no result: it is read from GET /checks/{id}
        app.Onfido.NextCheckAnswers.Enqueue(() => new HttpResponseMessage(HttpStatusCode.OK)
            { Content = JsonContent.Create(new { id = check.ProviderCheckId, status, result, href = $"/v3.6/checks/{check.ProviderCheckId}" }) });
        var logged = app.Logs.Records.Count;

        var early = await KycTests.PostWebhookAsync(onfido, "onfido", body, KycTests.Sign(body, OnfidoTestApp.OnfidoWebhookToken));

        // Acknowledged, Onfido would never deliver it again and the check would stay pending for ever: no tier 2, no withdrawals.
        Assert.Equal(HttpStatusCode.ServiceUnavailable, early.StatusCode);
        Assert.Equal("https://streambets.dev/problems/kyc-result-not-ready", (await early.Content.ReadFromJsonAsync<ProblemDetails>())!.Type);
        var waiting = await KycTests.StatusAsync(player);
        Assert.Equal((1, "pending"), (waiting.Tier, waiting.LatestCheck!.Status));
        var record = Assert.Single(app.Logs.Records.Skip(logged), r => r.Category == typeof(KycWebhookReceiver).FullName);
        Assert.Equal(("KycResultNotReady", LogLevel.Warning), (record.EventName, record.Level));
        Assert.DoesNotContain(player.Email, record.AllText);

        var redelivered = await KycTests.PostWebhookAsync(onfido, "onfido", body, KycTests.Sign(body, OnfidoTestApp.OnfidoWebhookToken));

        Assert.Equal(HttpStatusCode.OK, redelivered.StatusCode);
        Assert.Equal(2, (await KycTests.StatusAsync(player)).Tier);
    }

    [Theory]
    [InlineData("withdrawn")]
    [InlineData("in_progress")] // reopened at Onfido after we decided it
    public async Task A_completion_for_a_check_already_decided_is_acknowledged_as_already_handled_whatever_Onfido_now_tells(string status)
    {
        var player = await app.NewPlayerAsync();
        var check = await KycTests.StartCheckAsync(player);
        using var onfido = app.CreateClient();
        var body = KycTests.DocumentedCheckCompleted(check.ProviderCheckId); // no result: it is read from GET /checks/{id}
        Assert.Equal(HttpStatusCode.OK, (await KycTests.PostWebhookAsync(onfido, "onfido", body, KycTests.Sign(body, OnfidoTestApp.OnfidoWebhookToken))).StatusCode);
        var changes = await StatusChangesAsync(player.Id);
        app.Onfido.CheckStatuses[check.ProviderCheckId] = status;
        var logged = app.Logs.Records.Count;

        var redelivered = await KycTests.PostWebhookAsync(onfido, "onfido", body, KycTests.Sign(body, OnfidoTestApp.OnfidoWebhookToken));

        // A 503 would have Onfido deliver it again until it gives up, a warning each time, for a check nothing can move.
        Assert.Equal(HttpStatusCode.OK, redelivered.StatusCode);
        Assert.Equal("already-handled", (await redelivered.Content.ReadFromJsonAsync<WebhookReceipt>())!.Outcome);
        var after = await KycTests.StatusAsync(player);
        Assert.Equal((2, "approved", "clear"), (after.Tier, after.LatestCheck!.Status, after.LatestCheck.Result));
        Assert.Equal(changes, await StatusChangesAsync(player.Id));
        Assert.DoesNotContain(app.Logs.Records.Skip(logged), r => r.Category == typeof(KycWebhookReceiver).FullName && r.Level >= LogLevel.Warning);
    }

    [Fact]
    public async Task A_completion_for_a_pending_check_Onfido_tells_as_withdrawn_rejects_it_as_a_withdrawal_does()
    {
        var player = await app.NewPlayerAsync();
        var check = await KycTests.StartCheckAsync(player);
        using var onfido = app.CreateClient();
        var body = KycTests.DocumentedCheckCompleted(check.ProviderCheckId); // no result: it is read from GET /checks/{id}
        app.Onfido.CheckStatuses[check.ProviderCheckId] = "withdrawn";

        var delivery = await KycTests.PostWebhookAsync(onfido, "onfido", body, KycTests.Sign(body, OnfidoTestApp.OnfidoWebhookToken));
        var redelivery = await KycTests.PostWebhookAsync(onfido, "onfido", body, KycTests.Sign(body, OnfidoTestApp.OnfidoWebhookToken));

        // Withdrawn is final at Onfido: waited on, the check would stay pending and every new start be refused.
        Assert.Equal(HttpStatusCode.OK, delivery.StatusCode);
        Assert.Equal("applied", (await delivery.Content.ReadFromJsonAsync<WebhookReceipt>())!.Outcome);
        Assert.Equal("already-handled", (await redelivery.Content.ReadFromJsonAsync<WebhookReceipt>())!.Outcome);
        var status = await KycTests.StatusAsync(player);
        Assert.Equal((1, "rejected", (string?)null), (status.Tier, status.LatestCheck!.Status, status.LatestCheck.Result));
        Assert.Equal(("rejected", "identity check withdrawn by the provider"), (
            await app.ScalarAsync<string>("SELECT status FROM kyc_status_changes WHERE user_id = $1 ORDER BY id DESC LIMIT 1", player.Id),
            await app.ScalarAsync<string>("SELECT reason FROM kyc_status_changes WHERE user_id = $1 ORDER BY id DESC LIMIT 1", player.Id)));
        // The player may start again.
        Assert.Equal(HttpStatusCode.Accepted, (await player.Client.PostAsJsonAsync("/api/users/me/kyc/checks", new { firstName = "Ana", lastName = "Silva" })).StatusCode);
    }

    [Fact]
    public async Task A_completion_for_a_check_that_is_not_ours_is_404_without_asking_Onfido()
    {
        var providerCheckId = Guid.NewGuid().ToString();
        app.Onfido.CheckStatuses[providerCheckId] = "in_progress";
        using var onfido = app.CreateClient();
        var body = KycTests.DocumentedCheckCompleted(providerCheckId);

        var response = await KycTests.PostWebhookAsync(onfido, "onfido", body, KycTests.Sign(body, OnfidoTestApp.OnfidoWebhookToken));

        // As documented: not 2xx, so Onfido retries (the check may be committing on our side), never a 503 "not ready".
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("https://streambets.dev/problems/kyc-check-not-found", (await response.Content.ReadFromJsonAsync<ProblemDetails>())!.Type);
        Assert.DoesNotContain(app.Onfido.Requests, r => r.Path == $"/v3.6/checks/{providerCheckId}");
    }

    private Task<long> StatusChangesAsync(Guid userId) =>
        app.ScalarAsync<long>("SELECT count(*) FROM kyc_status_changes WHERE user_id = $1", userId);

    [Fact]
    public async Task A_webhook_body_over_64_KB_is_a_413_even_without_a_content_length()
    {
        using var onfido = app.CreateClient();
        var padding = new string(' ', 100 * 1024);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/users/kyc/webhooks/onfido")
        {
            // Streamed: no Content-Length, so only reading tells the size.
            Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes("{" + padding + "}"))),
        };
        request.Headers.TransferEncodingChunked = true;

        var response = await onfido.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("https://streambets.dev/problems/request-too-large", (await response.Content.ReadFromJsonAsync<ProblemDetails>())!.Type);
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
