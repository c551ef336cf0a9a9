using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using StreamBets.Testing;
using StreamBets.Users.Kyc;

namespace StreamBets.Users.Tests;

public sealed class KycTests(AccountsTestApp app) : IClassFixture<AccountsTestApp>
{
    [Fact]
    public async Task A_valid_document_number_moves_a_tier_0_player_to_tier_1_at_once()
    {
        var player = await app.NewPlayerAsync(country: "PT");

        var response = await player.Client.PostAsJsonAsync("/api/users/me/kyc/document", new { documentType = "passport", documentNumber = $"P{Random.Shared.Next(1_000_000, 9_999_999)}" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var status = (await response.Content.ReadFromJsonAsync<KycStatusView>())!;
        Assert.Equal((1, "passport", true, false), (status.Tier, status.DocumentType, status.MayBetAndDeposit, status.MayWithdraw));
        Assert.Equal(["streambets.users.registered.v1", "streambets.users.kyc-status-changed.v1"], await app.PublishedEventTypesAsync(player.Id, atLeast: 2));
    }

    [Theory]
    [InlineData("passport", "12")]
    [InlineData("passport", "AB#123456")]
    [InlineData("library-card", "AB123456")]
    public async Task An_invalid_document_is_a_validation_problem_and_changes_nothing(string documentType, string documentNumber)
    {
        var player = await app.NewPlayerAsync(country: "PT");

        var response = await player.Client.PostAsJsonAsync("/api/users/me/kyc/document", new { documentType, documentNumber });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("documentNumber", (await response.Content.ReadFromJsonAsync<ValidationProblemDetails>())!.Errors.Keys);
        Assert.Equal(0, (await StatusAsync(player)).Tier);
    }

    [Fact]
    public async Task A_tier_0_player_cannot_start_an_identity_check()
    {
        var player = await app.NewPlayerAsync(country: "PT");

        var response = await player.Client.PostAsJsonAsync("/api/users/me/kyc/checks", new { firstName = "Ana", lastName = "Silva" });

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal("https://streambets.dev/problems/kyc-tier-too-low", (await response.Content.ReadFromJsonAsync<ProblemDetails>())!.Type);
    }

    [Fact]
    public async Task A_signed_check_completed_webhook_moves_the_player_to_tier_2_once()
    {
        var player = await app.NewPlayerAsync();
        var check = await StartCheckAsync(player);
        using var provider = app.CreateClient();
        var body = DocumentedCheckCompleted(check.ProviderCheckId);

        var delivery = await PostWebhookAsync(provider, "sandbox", body, Sign(body, AccountsTestApp.SandboxWebhookToken));
        var redelivery = await PostWebhookAsync(provider, "sandbox", body, Sign(body, AccountsTestApp.SandboxWebhookToken));

        Assert.Equal(HttpStatusCode.OK, delivery.StatusCode);
        Assert.Equal("applied", (await delivery.Content.ReadFromJsonAsync<WebhookReceipt>())!.Outcome);
        Assert.Equal("already-handled", (await redelivery.Content.ReadFromJsonAsync<WebhookReceipt>())!.Outcome);
        var status = await StatusAsync(player);
        Assert.Equal((2, true, "approved", "clear"), (status.Tier, status.MayWithdraw, status.LatestCheck!.Status, status.LatestCheck.Result));
        // Document accepted at registration, check pending, verified.
        Assert.Equal(3, (await app.PublishedEventTypesAsync(player.Id, atLeast: 4)).Count(type => type == "streambets.users.kyc-status-changed.v1"));
    }

    public static TheoryData<string, Func<string, string>, Func<string, string?>> BadDeliveries() => new()
    {
        { "signed with another key", body => body, body => Sign(body, "not-the-webhook-token") },
        { "body changed after signing", body => body.Replace("complete", "completed", StringComparison.Ordinal), body => Sign(body.Replace("completed", "complete", StringComparison.Ordinal), AccountsTestApp.SandboxWebhookToken) },
        { "no signature", body => body, _ => null },
        { "signature not hex", body => body, _ => new string('z', 64) },
    };

    [Theory]
    [MemberData(nameof(BadDeliveries))]
    public async Task A_webhook_without_a_valid_signature_is_401_and_changes_nothing(string why, Func<string, string> body, Func<string, string?> signature)
    {
        var player = await app.NewPlayerAsync();
        var check = await StartCheckAsync(player);
        var payload = body(DocumentedCheckCompleted(check.ProviderCheckId));
        using var provider = app.CreateClient();

        var response = await PostWebhookAsync(provider, "sandbox", payload, signature(payload));

        Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, why);
        Assert.Equal("https://streambets.dev/problems/invalid-webhook-signature", (await response.Content.ReadFromJsonAsync<ProblemDetails>())!.Type);
        var status = await StatusAsync(player);
        Assert.Equal((1, "pending"), (status.Tier, status.LatestCheck!.Status));
    }

    [Fact]
    public async Task A_webhook_for_an_unconfigured_provider_is_not_found()
    {
        using var provider = app.CreateClient();
        var body = DocumentedCheckCompleted(Guid.NewGuid().ToString());

        var response = await PostWebhookAsync(provider, "jumio", body, Sign(body, AccountsTestApp.SandboxWebhookToken));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task The_sandbox_provider_completes_a_check_by_itself_after_its_delay_in_a_trace_that_its_event_continues()
    {
        using var deliveries = new RecordedActivities(SandboxKycCompleter.ActivitySource.Name);
        var player = await app.NewPlayerAsync();
        await StartCheckAsync(player);

        var verified = await app.EventuallyAsync(async () => (await StatusAsync(player)).Tier == 2, step: TimeSpan.FromSeconds(10));

        Assert.True(verified);
        bool Continued((string Type, string? TraceParent) e) => e.Type == "streambets.users.kyc-status-changed.v1"
            && deliveries.Stopped.Any(d => d.DisplayName == "deliver sandbox KYC webhook" && d.TraceId.ToString() == e.TraceParent?.Split('-')[1]);
        Assert.Contains(await app.PublishedEventsAsync(player.Id, events => events.Any(Continued)), Continued);
    }

    [Fact]
    public async Task A_consider_result_waits_in_the_review_queue_until_an_admin_approves_it()
    {
        var player = await app.NewPlayerAsync();
        var check = await StartCheckAsync(player, lastName: "Consider");
        Assert.True(await app.EventuallyAsync(async () => (await StatusAsync(player)).LatestCheck!.Status == "review", step: TimeSpan.FromSeconds(10)));
        Assert.Equal(1, (await StatusAsync(player)).Tier);
        using var admin = await app.AdminClientAsync();

        var queue = (await admin.GetFromJsonAsync<KycReviewPage>("/api/users/admin/kyc/reviews"))!.Items;
        var approval = await admin.PostAsJsonAsync($"/api/users/admin/kyc/reviews/{check.CheckId}/approve", new { note = "Document legible on second look" });
        var again = await admin.PostAsJsonAsync($"/api/users/admin/kyc/reviews/{check.CheckId}/approve", new { note = (string?)null });

        var item = Assert.Single(queue!, i => i.CheckId == check.CheckId);
        Assert.Equal((player.Id, "consider"), (item.UserId, item.ProviderResult));
        Assert.Equal(HttpStatusCode.OK, approval.StatusCode);
        Assert.Equal(2, (await StatusAsync(player)).Tier);
        Assert.Equal("https://streambets.dev/problems/kyc-check-not-in-review", (await again.Content.ReadFromJsonAsync<ProblemDetails>())!.Type);
        Assert.DoesNotContain((await admin.GetFromJsonAsync<KycReviewPage>("/api/users/admin/kyc/reviews"))!.Items, i => i.CheckId == check.CheckId);
    }

    [Fact]
    public async Task An_admin_cannot_decide_their_own_check_and_another_admin_can()
    {
        var player = await app.NewPlayerAsync();
        await app.ScalarAsync<object>("UPDATE users SET role = 'admin' WHERE id = $1", player.Id);
        using var self = app.ClientFor((await app.LoginAsync(player.Email, player.Password)).AccessToken);
        var check = await StartCheckAsync(player, lastName: "Consider");
        Assert.True(await app.EventuallyAsync(async () => (await StatusAsync(player)).LatestCheck!.Status == "review", step: TimeSpan.FromSeconds(10)));

        var ownApproval = await self.PostAsJsonAsync($"/api/users/admin/kyc/reviews/{check.CheckId}/approve", new { note = "Looks like me" });
        var ownRejection = await self.PostAsJsonAsync($"/api/users/admin/kyc/reviews/{check.CheckId}/reject", new { note = "Never mind" });

        Assert.Equal((HttpStatusCode.Forbidden, HttpStatusCode.Forbidden), (ownApproval.StatusCode, ownRejection.StatusCode));
        var problem = (await ownApproval.Content.ReadFromJsonAsync<ProblemDetails>())!;
        Assert.Equal("https://streambets.dev/problems/own-kyc-review", problem.Type);
        Assert.Contains("another admin", problem.Detail);
        var unchanged = await StatusAsync(player);
        Assert.Equal((1, "review"), (unchanged.Tier, unchanged.LatestCheck!.Status));

        using var other = await app.AdminClientAsync();
        Assert.Equal(HttpStatusCode.OK, (await other.PostAsJsonAsync($"/api/users/admin/kyc/reviews/{check.CheckId}/approve", new { note = (string?)null })).StatusCode);
        Assert.Equal(2, (await StatusAsync(player)).Tier);
    }

    [Fact]
    public async Task An_admin_rejection_needs_a_reason_and_leaves_the_player_at_tier_1_free_to_try_again()
    {
        var player = await app.NewPlayerAsync();
        var check = await StartCheckAsync(player, lastName: "Consider");
        Assert.True(await app.EventuallyAsync(async () => (await StatusAsync(player)).LatestCheck!.Status == "review", step: TimeSpan.FromSeconds(10)));
        using var admin = await app.AdminClientAsync();

        var withoutReason = await admin.PostAsJsonAsync($"/api/users/admin/kyc/reviews/{check.CheckId}/reject", new { note = "" });
        var withNul = await admin.PostAsJsonAsync($"/api/users/admin/kyc/reviews/{check.CheckId}/reject", new { note = "Blurry\u0000" });
        var rejection = await admin.PostAsJsonAsync($"/api/users/admin/kyc/reviews/{check.CheckId}/reject", new { note = "Selfie does not match the document" });

        Assert.Equal(HttpStatusCode.BadRequest, withoutReason.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, withNul.StatusCode);
        Assert.Equal(HttpStatusCode.OK, rejection.StatusCode);
        var status = await StatusAsync(player);
        Assert.Equal((1, "rejected"), (status.Tier, status.LatestCheck!.Status));
        Assert.Equal(HttpStatusCode.Accepted, (await player.Client.PostAsJsonAsync("/api/users/me/kyc/checks", new { firstName = "Ana", lastName = "Silva" })).StatusCode);
    }

    [Fact]
    public async Task The_player_reads_the_reason_an_admin_gave_for_rejecting_their_check()
    {
        var player = await app.NewPlayerAsync();
        var check = await StartCheckAsync(player, lastName: "Consider");
        Assert.True(await app.EventuallyAsync(async () => (await StatusAsync(player)).LatestCheck!.Status == "review", step: TimeSpan.FromSeconds(10)));
        using var admin = await app.AdminClientAsync();

        await admin.PostAsJsonAsync($"/api/users/admin/kyc/reviews/{check.CheckId}/reject", new { note = "  Selfie does not match the document " });

        // Read as the player's app reads it: the field as sent over the wire.
        var latest = (await player.Client.GetFromJsonAsync<JsonElement>("/api/users/me/kyc")).GetProperty("latestCheck");
        Assert.Equal("rejected", latest.GetProperty("status").GetString());
        Assert.Equal("Selfie does not match the document", latest.TryGetProperty("decisionNote", out var note) ? note.GetString() : null);
    }

    [Fact]
    public async Task Only_one_check_may_be_open_at_a_time()
    {
        var player = await app.NewPlayerAsync();
        await StartCheckAsync(player);

        var second = await player.Client.PostAsJsonAsync("/api/users/me/kyc/checks", new { firstName = "Ana", lastName = "Silva" });

        Assert.Equal("https://streambets.dev/problems/kyc-check-in-progress", (await second.Content.ReadFromJsonAsync<ProblemDetails>())!.Type);
    }

    [Fact]
    public void The_webhook_signature_is_the_hex_HMAC_SHA256_of_the_raw_body()
    {
        // The well-known HMAC-SHA256 test vector.
        var body = "The quick brown fox jumps over the lazy dog"u8;

        Assert.Equal("f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8", OnfidoWebhookSignature.Sign(body, "key"));
        Assert.True(OnfidoWebhookSignature.IsValid(body, "F7BC83F430538424B13298E6AA6FB143EF4D59A14946175997479DBC2D1A3CD8", "key"));
        Assert.False(OnfidoWebhookSignature.IsValid(body, "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd9", "key"));
    }

    /// <summary>Onfido's documented check.completed payload; the object carries no result.</summary>
    internal static string DocumentedCheckCompleted(string checkId) =>
        """{"payload":{"resource_type":"check","action":"check.completed","object":{"id":"CHECK_ID","status":"complete","completed_at_iso8601":"2022-01-06T15:46:43Z","href":"https://api.eu.onfido.com/v3.6/checks/CHECK_ID"}}}"""
            .Replace("CHECK_ID", checkId, StringComparison.Ordinal);

    internal static string Sign(string body, string token) => OnfidoWebhookSignature.Sign(Encoding.UTF8.GetBytes(body), token);

    internal static Task<HttpResponseMessage> PostWebhookAsync(HttpClient client, string provider, string body, string? signature)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/api/users/kyc/webhooks/{provider}") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (signature is not null)
        {
            request.Headers.Add("X-SHA2-Signature", signature);
        }
        return client.SendAsync(request);
    }

    internal static async Task<KycCheckView> StartCheckAsync(TestPlayer player, string lastName = "Silva")
    {
        var response = await player.Client.PostAsJsonAsync("/api/users/me/kyc/checks", new { firstName = "Ana", lastName });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<KycCheckView>())!;
    }

    internal static async Task<KycStatusView> StatusAsync(TestPlayer player) => (await player.Client.GetFromJsonAsync<KycStatusView>("/api/users/me/kyc"))!;
}
