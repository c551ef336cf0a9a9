using System.Net;
using System.Net.Http.Json;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Users.Kyc;

namespace StreamBets.Users.Tests;

/// <summary>
/// Onfido as the provider, with the poller's own timer parked far away: each test runs the poller's rounds itself, so a
/// round never overlaps the test's clock moves.
/// </summary>
public sealed class OnfidoRoundsTestApp : OnfidoTestApp
{
    protected override IEnumerable<KeyValuePair<string, string>> Settings() =>
    [
        .. base.Settings(),
        new("Kyc:Poll:Every", "30.00:00:00"),
        new($"Logging:LogLevel:{typeof(PendingKycCheckPoller).FullName}", "Information"),
    ];

    public PendingKycCheckPoller Poller => Services.GetRequiredService<PendingKycCheckPoller>();

    /// <summary>The player's KYC status, signed in afresh: the clock has moved past their first access token's expiry.</summary>
    public async Task<KycStatusView> StatusAsync(TestPlayer player)
    {
        using var client = ClientFor((await LoginAsync(player.Email, player.Password)).AccessToken);
        return (await client.GetFromJsonAsync<KycStatusView>("/api/users/me/kyc"))!;
    }

    public KycPollOptions Poll => Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<KycOptions>>().Value.Poll;
}

public sealed class KycPendingCheckPollTests(OnfidoRoundsTestApp app) : IClassFixture<OnfidoRoundsTestApp>
{
    private TimeSpan Overdue => app.Poll.PendingLongerThan + TimeSpan.FromMinutes(1);

    [Fact]
    public async Task A_check_whose_webhook_never_came_is_approved_by_polling_Onfido_and_the_player_moves_to_tier_2_as_the_webhook_moves_them()
    {
        var viaWebhook = await app.NewPlayerAsync();
        var viaPoll = await app.NewPlayerAsync();
        var webhookCheck = await KycTests.StartCheckAsync(viaWebhook);
        var polledCheck = await KycTests.StartCheckAsync(viaPoll);
        using var onfido = app.CreateClient();
        var body = KycTests.DocumentedCheckCompleted(webhookCheck.ProviderCheckId);
        Assert.Equal(HttpStatusCode.OK, (await KycTests.PostWebhookAsync(onfido, "onfido", body, KycTests.Sign(body, OnfidoTestApp.OnfidoWebhookToken))).StatusCode);
        app.Clock.Advance(Overdue); // Onfido gave up redelivering the second player's webhook

        await app.Poller.PollAsync(CancellationToken.None);

        var status = await StatusAsync(viaPoll);
        Assert.Equal((2, true, "approved", "clear"), (status.Tier, status.MayWithdraw, status.LatestCheck!.Status, status.LatestCheck.Result));
        Assert.Contains(app.Onfido.Requests, r => r.Method == HttpMethod.Get && r.Path == $"/v3.6/checks/{polledCheck.ProviderCheckId}");
        // The same audit rows and events as the webhook writes: the same decision, not a copy of it.
        Assert.Equal(await StatusChangesAsync(viaWebhook.Id), await StatusChangesAsync(viaPoll.Id));
        var changes = (await StatusChangesAsync(viaPoll.Id)).Count;
        Assert.Equal(
            (await app.PublishedEventsAsync<KycStatusChanged>(viaWebhook.Id, changes)).Select(e => (e.Status, e.Tier, e.Reason)),
            (await app.PublishedEventsAsync<KycStatusChanged>(viaPoll.Id, changes)).Select(e => (e.Status, e.Tier, e.Reason)));
        Assert.Contains(app.Logs.Records, r => r.EventName == "KycCheckDecidedByPoll" && r.AllText.Contains(polledCheck.ProviderCheckId));
    }

    [Fact]
    public async Task A_polled_check_Onfido_tells_as_consider_goes_to_review_and_one_it_tells_as_withdrawn_is_rejected()
    {
        var considered = await app.NewPlayerAsync();
        var withdrawn = await app.NewPlayerAsync();
        var consideredCheck = await KycTests.StartCheckAsync(considered);
        var withdrawnCheck = await KycTests.StartCheckAsync(withdrawn);
        app.Onfido.CheckResults[consideredCheck.ProviderCheckId] = "consider";
        app.Onfido.CheckStatuses[withdrawnCheck.ProviderCheckId] = "withdrawn";
        app.Clock.Advance(Overdue);

        await app.Poller.PollAsync(CancellationToken.None);

        Assert.Equal((1, "review"), Of(await StatusAsync(considered)));
        Assert.Equal((1, "rejected"), Of(await StatusAsync(withdrawn)));
        Assert.Equal(["rejected", "identity check withdrawn by the provider"], (await StatusChangesAsync(withdrawn.Id))[^1][2..]);
    }

    [Fact]
    public async Task A_check_Onfido_still_has_in_progress_stays_pending_without_a_warning()
    {
        var player = await app.NewPlayerAsync();
        var check = await KycTests.StartCheckAsync(player);
        app.Onfido.CheckStatuses[check.ProviderCheckId] = "in_progress";
        app.Clock.Advance(Overdue);
        var logged = app.Logs.Records.Count;

        await app.Poller.PollAsync(CancellationToken.None);

        Assert.Equal((1, "pending"), Of(await StatusAsync(player)));
        Assert.Contains(app.Onfido.Requests, r => r.Method == HttpMethod.Get && r.Path == $"/v3.6/checks/{check.ProviderCheckId}");
        Assert.DoesNotContain(app.Logs.Records.Skip(logged), r => r.Level >= LogLevel.Warning && r.AllText.Contains(check.ProviderCheckId));
    }

    [Fact]
    public async Task A_check_pending_for_less_than_the_threshold_is_left_to_its_webhook()
    {
        var player = await app.NewPlayerAsync();
        var check = await KycTests.StartCheckAsync(player);
        app.Clock.Advance(app.Poll.PendingLongerThan - TimeSpan.FromMinutes(1));

        await app.Poller.PollAsync(CancellationToken.None);

        Assert.Equal((1, "pending"), Of(await StatusAsync(player)));
        Assert.DoesNotContain(app.Onfido.Requests, r => r.Path == $"/v3.6/checks/{check.ProviderCheckId}");

        app.Clock.Advance(TimeSpan.FromMinutes(2));
        await app.Poller.PollAsync(CancellationToken.None);

        Assert.Equal((2, "approved"), Of(await StatusAsync(player)));
    }

    [Fact]
    public async Task A_check_Onfido_cannot_answer_for_stays_pending_with_a_warning_and_the_next_round_decides_it()
    {
        var player = await app.NewPlayerAsync();
        var check = await KycTests.StartCheckAsync(player);
        // A 2xx page that is not the documented JSON (a 5xx would be retried by the resilience handler, for seconds).
        app.Onfido.NextAnswerForCheck[check.ProviderCheckId] = () =>
            new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("<html>maintenance</html>", Encoding.UTF8, "text/html") };
        app.Clock.Advance(Overdue);
        var logged = app.Logs.Records.Count;

        await app.Poller.PollAsync(CancellationToken.None);

        Assert.Equal((1, "pending"), Of(await StatusAsync(player)));
        var record = Assert.Single(app.Logs.Records.Skip(logged), r => r.Category == typeof(PendingKycCheckPoller).FullName);
        Assert.Equal(("KycPollFailed", LogLevel.Warning), (record.EventName, record.Level));
        Assert.Contains(check.ProviderCheckId, record.AllText);
        Assert.DoesNotContain(player.Email, record.AllText);

        await app.Poller.PollAsync(CancellationToken.None);

        Assert.Equal((2, "approved"), Of(await StatusAsync(player)));
    }

    [Fact]
    public async Task Checks_already_decided_are_never_polled_whatever_Onfido_now_tells_of_them()
    {
        var approved = await app.NewPlayerAsync();
        var inReview = await app.NewPlayerAsync();
        var approvedCheck = await KycTests.StartCheckAsync(approved);
        var reviewCheck = await KycTests.StartCheckAsync(inReview);
        app.Onfido.CheckResults[reviewCheck.ProviderCheckId] = "consider";
        using var onfido = app.CreateClient();
        foreach (var check in new[] { approvedCheck, reviewCheck })
        {
            var body = KycTests.DocumentedCheckCompleted(check.ProviderCheckId);
            Assert.Equal(HttpStatusCode.OK, (await KycTests.PostWebhookAsync(onfido, "onfido", body, KycTests.Sign(body, OnfidoTestApp.OnfidoWebhookToken))).StatusCode);
        }
        app.Onfido.CheckStatuses[approvedCheck.ProviderCheckId] = "withdrawn"; // told differently now: it must not matter
        app.Onfido.CheckStatuses[reviewCheck.ProviderCheckId] = "withdrawn";
        var approvedChanges = await StatusChangesAsync(approved.Id);
        var reviewChanges = await StatusChangesAsync(inReview.Id);
        var readsBefore = ReadsOf(approvedCheck, reviewCheck);
        app.Clock.Advance(Overdue);

        await app.Poller.PollAsync(CancellationToken.None);

        Assert.Equal((2, "approved"), Of(await StatusAsync(approved)));
        Assert.Equal((1, "review"), Of(await StatusAsync(inReview)));
        Assert.Equal(approvedChanges, await StatusChangesAsync(approved.Id));
        Assert.Equal(reviewChanges, await StatusChangesAsync(inReview.Id));
        Assert.Equal(readsBefore, ReadsOf(approvedCheck, reviewCheck));
    }

    [Fact]
    public async Task A_check_decided_at_once_by_several_replicas_rounds_and_its_webhook_is_decided_once()
    {
        var player = await app.NewPlayerAsync();
        var check = await KycTests.StartCheckAsync(player);
        app.Clock.Advance(Overdue);
        using var onfido = app.CreateClient();
        var body = KycTests.DocumentedCheckCompleted(check.ProviderCheckId);

        // Pollers of separate instances, as on separate replicas, each with its own cursor, and a late webhook.
        var replicas = Enumerable.Range(0, 4).Select(_ => ActivatorUtilities.CreateInstance<PendingKycCheckPoller>(app.Services)).ToList();
        await Task.WhenAll([
            .. replicas.Select(poller => poller.PollAsync(CancellationToken.None)),
            KycTests.PostWebhookAsync(onfido, "onfido", body, KycTests.Sign(body, OnfidoTestApp.OnfidoWebhookToken)),
        ]);

        Assert.Equal((2, "approved"), Of(await StatusAsync(player)));
        Assert.Single(await StatusChangesAsync(player.Id), change => change[2] == "verified");
    }

    /// <summary>The player's KYC status, signed in afresh: the clock has moved past their first access token's expiry.</summary>
    private Task<KycStatusView> StatusAsync(TestPlayer player) => app.StatusAsync(player);

    private static (int Tier, string Status) Of(KycStatusView status) => (status.Tier, status.LatestCheck!.Status);

    private int ReadsOf(params KycCheckView[] checks) =>
        app.Onfido.Requests.Count(r => checks.Any(c => r.Path == $"/v3.6/checks/{c.ProviderCheckId}"));

    /// <summary>The player's KYC audit rows, oldest first: from tier, to tier, status, reason.</summary>
    private async Task<List<string[]>> StatusChangesAsync(Guid userId)
    {
        await using var connection = new Npgsql.NpgsqlConnection(app.ConnectionString);
        await connection.OpenAsync();
        await using var select = new Npgsql.NpgsqlCommand(
            "SELECT from_tier::text, to_tier::text, status, reason FROM kyc_status_changes WHERE user_id = $1 ORDER BY id", connection)
        {
            Parameters = { new Npgsql.NpgsqlParameter { Value = userId } },
        };
        await using var reader = await select.ExecuteReaderAsync();
        var rows = new List<string[]>();
        while (await reader.ReadAsync())
        {
            rows.Add([reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3)]);
        }
        return rows;
    }
}

/// <summary>The poller as Users runs it: its own timer, on the default settings.</summary>
public sealed class KycPendingCheckPollerTimerTests(OnfidoTestApp app) : IClassFixture<OnfidoTestApp>
{
    [Fact]
    public async Task Users_polls_Onfido_on_its_own_every_few_minutes_once_a_check_is_half_an_hour_overdue()
    {
        var player = await app.NewPlayerAsync();
        await KycTests.StartCheckAsync(player);
        var started = app.Clock.GetUtcNow();

        Assert.True(await app.EventuallyAsync(
            async () => await app.ScalarAsync<short>("SELECT kyc_tier FROM users WHERE id = $1", player.Id) == 2, step: TimeSpan.FromMinutes(1), attempts: 60));

        Assert.InRange(app.Clock.GetUtcNow() - started, TimeSpan.FromMinutes(30), TimeSpan.FromMinutes(40));
    }
}
