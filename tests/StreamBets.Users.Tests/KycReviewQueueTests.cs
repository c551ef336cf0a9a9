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
    /// Puts a check of each of <paramref name="count"/> new players in review, three at each moment; answers the whole
    /// queue's check ids in the order admins should see them (oldest first, then by id as PostgreSQL orders uuids).
    /// </summary>
    private async Task<Guid[]> CheckInReviewAsync(int count)
    {
        var players = await Task.WhenAll(Enumerable.Range(0, count).Select(_ => app.NewPlayerAsync()));
        await app.ScalarAsync<object>(
            """
            INSERT INTO kyc_checks (id, user_id, provider, provider_check_id, status, provider_result, created_at, completed_at)
            SELECT gen_random_uuid(), p.id, 'sandbox', gen_random_uuid()::text, 'review', 'consider', $2 - (p.i / 3) * interval '1 minute', $2
            FROM unnest($1::uuid[]) WITH ORDINALITY AS p(id, i)
            """, players.Select(p => p.Id).ToArray(), app.Clock.GetUtcNow());
        return (await app.ScalarAsync<Guid[]>("SELECT array_agg(id ORDER BY created_at, id) FROM kyc_checks WHERE status = 'review'"))!;
    }
}
