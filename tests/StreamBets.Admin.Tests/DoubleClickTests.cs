using System.Text.Json;
using Bunit;
using StreamBets.Admin.Components.Pages;
using StreamBets.Admin.Operations;

namespace StreamBets.Admin.Tests;

/// <summary>
/// A button disabled while its click is served does not stop a second click the browser sent before that render
/// arrived: it still reaches the page. The page serves one click at a time and ignores the rest, so a page is not
/// loaded twice (its rows listed twice) and a change is not sent twice (its 409 replacing the first one's success).
/// Each test clicks twice before the first click's answer, as such a browser does.
/// </summary>
public sealed class DoubleClickTests : ConsoleTest
{
    [Fact]
    public async Task Recent_changes_clicked_twice_for_more_list_the_next_page_once()
    {
        Gateway.Answer("/api/pools/admin/config", () => new PoolsSettings(500, 100, 100_000, true, 24));
        Gateway.Answer("/api/pools/admin/templates", Array.Empty<PoolTemplate>);
        Gateway.Answer("/api/pools/admin/changes?limit=20", () => new AdminChangePage([Change(2)], "c1"));
        Gateway.Answer("/api/pools/admin/changes?limit=20&cursor=c1", () => new AdminChangePage([Change(1)], null));
        var page = Bunit.Render<PoolSettings>();
        page.WaitForAssertion(() => Assert.Single(page.FindAll("[data-testid=change]")));

        await ClickTwiceAsync(page, "[data-testid=changes] button", "/api/pools/admin/changes?limit=20&cursor=c1");

        Assert.Equal(2, page.FindAll("[data-testid=change]").Count);
        Assert.Single(Gateway.Requests, r => r.StartsWith("GET /api/pools/admin/changes?limit=20&cursor=c1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Settlements_clicked_twice_for_more_list_the_next_page_once()
    {
        Gateway.Answer("/api/settlements?limit=20&status=failed", () => new SettlementPage([Failed(Guid.NewGuid())], "c1"));
        Gateway.Answer("/api/settlements?limit=20&status=failed&cursor=c1", () => new SettlementPage([Failed(Guid.NewGuid())], null));
        Gateway.Answer("/api/pools?ids=", Array.Empty<PoolSummary>);
        var page = Bunit.Render<Settlements>();
        page.WaitForAssertion(() => Assert.Single(page.FindAll("[data-testid=settlement]")));

        await ClickTwiceAsync(page, "button:not([type=submit]):not(.primary)", "/api/settlements?limit=20&status=failed&cursor=c1");

        Assert.Equal(2, page.FindAll("[data-testid=settlement]").Count);
        Assert.Single(Gateway.Requests, r => r.StartsWith("GET /api/settlements?limit=20&status=failed&cursor=c1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Requeue_clicked_twice_is_sent_once_and_says_requeued()
    {
        var poolId = Guid.NewGuid();
        OneFailedSettlementToRequeue(poolId);
        var page = Bunit.Render<Settlements>();
        page.WaitForAssertion(() => Assert.Single(page.FindAll("[data-testid=settlement]")));

        await page.InvokeAsync(() => Button(page, $"[data-pool-id='{poolId}']", "Requeue").ClickAsync(new()));

        await ClickTwiceAsync(page, $"[data-pool-id='{poolId}'] [data-testid=confirm] button.primary", $"/api/settlements/{poolId}/requeue");

        Assert.Single(Gateway.Requests, r => r == $"POST /api/settlements/{poolId}/requeue");
        Assert.Contains("Requeued", page.Find("[data-testid=message]").TextContent);
    }

    [Fact]
    public async Task Lock_clicked_twice_is_sent_once_and_says_locked()
    {
        var (page, pool, row) = LivePoolsWithOneToLock();
        await page.InvokeAsync(() => Button(page, row, "Lock").ClickAsync(new()));

        await ClickTwiceAsync(page, $"{row} [data-testid=confirm] button.primary", $"/api/pools/{pool.Id}/lock");

        Assert.Single(Gateway.Requests, r => r == $"POST /api/pools/{pool.Id}/lock");
        Assert.Contains("is locked", page.Find("[data-testid=message]").TextContent);
    }

    [Fact]
    public async Task Approve_clicked_twice_is_sent_once_and_says_decided()
    {
        var review = new KycReview(Guid.NewGuid(), Guid.NewGuid(), "Ana", "ana@example.com", "BR", "sandbox", "consider", DateTimeOffset.UtcNow, DateTimeOffset.UtcNow);
        Gateway.Answer("/api/users/admin/kyc/reviews", () => new KycReviewPage([review], null));
        Gateway.Answer($"/api/users/admin/kyc/reviews/{review.CheckId}/approve",
            () => new KycCheck(review.CheckId, "sandbox", "p-1", "approved", "clear", review.CreatedAt, DateTimeOffset.UtcNow));
        var page = Bunit.Render<KycReviews>();
        page.WaitForAssertion(() => Assert.Single(page.FindAll("[data-testid=kyc-review]")));

        await page.InvokeAsync(() => page.Find($"[data-check-id='{review.CheckId}'] button.primary").ClickAsync(new())); // Approve asks first

        await ClickTwiceAsync(page, $"[data-check-id='{review.CheckId}'] [data-testid=confirm] button.primary", $"/api/users/admin/kyc/reviews/{review.CheckId}/approve");

        Assert.Single(Gateway.Requests, r => r.StartsWith($"POST /api/users/admin/kyc/reviews/{review.CheckId}", StringComparison.Ordinal));
        Assert.Contains("is approved", page.Find("[data-testid=message]").TextContent);
    }

    [Fact]
    public async Task A_second_approve_where_the_first_was_never_approves_the_next_player()
    {
        var (ana, bia) = (Review("Ana"), Review("Bia"));
        Gateway.Answer("/api/users/admin/kyc/reviews", () => new KycReviewPage([ana, bia], null));
        Gateway.Answer($"/api/users/admin/kyc/reviews/{ana.CheckId}/approve",
            () => new KycCheck(ana.CheckId, "sandbox", "p-1", "approved", "clear", ana.CreatedAt, DateTimeOffset.UtcNow));
        Gateway.Answer($"/api/users/admin/kyc/reviews/{bia.CheckId}/approve",
            () => new KycCheck(bia.CheckId, "sandbox", "p-2", "approved", "clear", bia.CreatedAt, DateTimeOffset.UtcNow));
        var page = Bunit.Render<KycReviews>();
        page.WaitForAssertion(() => Assert.Equal(2, page.FindAll("[data-testid=kyc-review]").Count));
        var release = Gateway.HoldNext($"/api/users/admin/kyc/reviews/{ana.CheckId}/approve");

        await page.InvokeAsync(() => FirstRowApprove(page).Single().ClickAsync(new())); // asks first
        var first = FirstRowApprove(page).Single().ClickAsync(new()); // the confirmation's Approve
        release.SetResult();
        await first;
        foreach (var again in FirstRowApprove(page)) // the operator clicks again where Ana's Approve was
        {
            await again.ClickAsync(new());
        }

        Assert.DoesNotContain(Gateway.Requests, r => r.StartsWith($"POST /api/users/admin/kyc/reviews/{bia.CheckId}", StringComparison.Ordinal));
        var rows = page.FindAll("[data-testid=kyc-review]");
        Assert.Equal([ana.CheckId.ToString(), bia.CheckId.ToString()], rows.Select(r => r.GetAttribute("data-check-id")));
        Assert.Equal("Approved", rows[0].GetAttribute("data-decision"));
        Assert.Equal(2, rows[1].QuerySelectorAll("button").Length);
    }

    [Fact]
    public async Task Show_more_reviews_clicked_twice_lists_the_next_page_of_the_queue_once()
    {
        var (ana, bia) = (Review("Ana"), Review("Bia"));
        Gateway.Answer("/api/users/admin/kyc/reviews?limit=20", () => new KycReviewPage([ana], "c1"));
        Gateway.Answer("/api/users/admin/kyc/reviews?limit=20&cursor=c1", () => new KycReviewPage([bia], null));
        var page = Bunit.Render<KycReviews>();
        page.WaitForAssertion(() => Assert.Single(page.FindAll("[data-testid=kyc-review]")));

        await ClickTwiceAsync(page, "[data-testid=more-reviews]", "/api/users/admin/kyc/reviews?limit=20&cursor=c1");

        var rows = page.FindAll("[data-testid=kyc-review]");
        Assert.Equal([ana.CheckId.ToString(), bia.CheckId.ToString()], rows.Select(r => r.GetAttribute("data-check-id")));
        Assert.Single(Gateway.Requests, r => r.StartsWith("GET /api/users/admin/kyc/reviews?limit=20&cursor=c1", StringComparison.Ordinal));
        Assert.Empty(page.FindAll("[data-testid=more-reviews]")); // the last page
    }

    private static KycReview Review(string name) =>
        new(Guid.NewGuid(), Guid.NewGuid(), name, $"{name.ToLowerInvariant()}@example.com", "BR", "sandbox", "consider", DateTimeOffset.UtcNow, DateTimeOffset.UtcNow);

    private static IEnumerable<AngleSharp.Dom.IElement> FirstRowApprove(IRenderedComponent<KycReviews> page) =>
        page.FindAll("[data-testid=kyc-review]")[0].QuerySelectorAll("button.primary").ToList();

    /// <summary>Clicks the button twice while the first click's call to <paramref name="held"/> waits, then lets it through.</summary>
    private async Task ClickTwiceAsync<TPage>(IRenderedComponent<TPage> page, string button, string held) where TPage : Microsoft.AspNetCore.Components.IComponent
    {
        var release = Gateway.HoldNext(held);
        var clicked = page.Find(button);
        var first = clicked.ClickAsync(new());
        var second = clicked.ClickAsync(new()); // on the button as the browser still showed it
        await Task.Delay(100); // a second call, if sent, is answered at once
        release.SetResult();
        await Task.WhenAll(first, second);
    }

    private static AdminChange Change(long id) =>
        new(id, DateTimeOffset.UtcNow, Guid.NewGuid(), "Local admin", "config-saved", "defaults", JsonDocument.Parse("{}").RootElement);
}
