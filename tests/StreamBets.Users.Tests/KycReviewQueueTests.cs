using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Mvc;
using StreamBets.Users.Kyc;

namespace StreamBets.Users.Tests;

/// <summary>
/// The admins' review queue (GET /api/users/admin/kyc/reviews) comes a page at a time: every row carries a player's email,
/// and the queue has no upper bound. Its own app, so the queue holds exactly the checks these tests put there.
/// </summary>
public sealed class KycReviewQueueTests(AccountsTestApp app) : IClassFixture<AccountsTestApp>
{
    private const string Reviews = "/api/users/admin/kyc/reviews";

    [Fact]
    public async Task The_review_queue_comes_a_page_at_a_time_oldest_first_with_every_check_once()
    {
        // Checks that entered the queue at the same moment are paged by id, so none is skipped or shown twice.
        var waiting = await CheckInReviewAsync(KycReviewQueue.DefaultLimit + 10);
        using var admin = await app.AdminClientAsync();

        var first = (await admin.GetFromJsonAsync<KycReviewPage>(Reviews))!;
        var paged = new List<KycReviewItem>();
        string? cursor = null;
        do
        {
            var page = (await admin.GetFromJsonAsync<KycReviewPage>($"{Reviews}?limit=7{(cursor is null ? "" : $"&cursor={cursor}")}"))!;
            Assert.InRange(page.Items.Count, 1, 7);
            paged.AddRange(page.Items);
            cursor = page.NextCursor;
        }
        while (cursor is not null);

        Assert.Equal(KycReviewQueue.DefaultLimit, first.Items.Count);
        Assert.NotNull(first.NextCursor);
        Assert.Equal(waiting, paged.Select(item => item.CheckId));
    }

    [Fact]
    public async Task A_check_that_enters_review_after_an_admin_paged_past_its_start_is_still_shown_by_show_more()
    {
        await CheckInReviewAsync(5);
        using var admin = await app.AdminClientAsync();
        var player = await app.NewPlayerAsync();
        var providerCheckId = $"sandbox-consider-{Guid.NewGuid():N}";
        var checkId = await app.ScalarAsync<Guid>(
            "INSERT INTO kyc_checks (id, user_id, provider, provider_check_id, status, created_at) VALUES (gen_random_uuid(), $1, 'sandbox', $2, 'pending', $3) RETURNING id",
            player.Id, providerCheckId, app.Clock.GetUtcNow() - TimeSpan.FromDays(1));
        var first = (await admin.GetFromJsonAsync<KycReviewPage>($"{Reviews}?limit=2"))!;

        // The provider answers "consider" only now: the check started a day ago but has waited for an admin the shortest time.
        var body = KycTests.DocumentedCheckCompleted(providerCheckId);
        using var provider = app.CreateClient();
        Assert.True((await KycTests.PostWebhookAsync(provider, "sandbox", body, KycTests.Sign(body, AccountsTestApp.SandboxWebhookToken))).IsSuccessStatusCode);
        var shown = new List<KycReviewItem>(first.Items);
        for (var cursor = first.NextCursor; cursor is not null;)
        {
            var page = (await admin.GetFromJsonAsync<KycReviewPage>($"{Reviews}?limit=2&cursor={cursor}"))!;
            shown.AddRange(page.Items);
            cursor = page.NextCursor;
        }

        Assert.Contains(shown, item => item.CheckId == checkId);
        Assert.Equal(shown.Count, shown.DistinctBy(item => item.CheckId).Count());
    }

    [Theory]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=201", "limit")]
    [InlineData("cursor=not-a-cursor", "cursor")]
    public async Task The_review_queue_refuses_a_limit_outside_1_to_200_and_a_cursor_it_did_not_issue(string query, string field)
    {
        using var admin = await app.AdminClientAsync();

        var response = await admin.GetAsync($"{Reviews}?{query}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(field, (await response.Content.ReadFromJsonAsync<ValidationProblemDetails>())!.Errors.Keys);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"{Reviews}?limit={KycReviewQueue.MaxLimit}")).StatusCode);
    }

    /// <summary>
    /// Puts a check of each of <paramref name="count"/> new players in review, three entering it at each moment (each started an
    /// hour before); answers the whole queue's check ids in the order admins should see them (longest in review first, then by
    /// id as PostgreSQL orders uuids).
    /// </summary>
    private async Task<Guid[]> CheckInReviewAsync(int count)
    {
        var players = await Task.WhenAll(Enumerable.Range(0, count).Select(_ => app.NewPlayerAsync()));
        await app.ScalarAsync<object>(
            """
            INSERT INTO kyc_checks (id, user_id, provider, provider_check_id, status, provider_result, created_at, completed_at)
            SELECT gen_random_uuid(), p.id, 'sandbox', gen_random_uuid()::text, 'review', 'consider',
                   $2 - (p.i / 3) * interval '1 minute' - interval '1 hour', $2 - (p.i / 3) * interval '1 minute'
            FROM unnest($1::uuid[]) WITH ORDINALITY AS p(id, i)
            """, players.Select(p => p.Id).ToArray(), app.Clock.GetUtcNow());
        return (await app.ScalarAsync<Guid[]>("SELECT array_agg(id ORDER BY completed_at, id) FROM kyc_checks WHERE status = 'review'"))!;
    }
}
