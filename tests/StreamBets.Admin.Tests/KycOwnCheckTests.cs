using Bunit;
using StreamBets.Admin.Components.Pages;
using StreamBets.Admin.Operations;

namespace StreamBets.Admin.Tests;

/// <summary>Users refuses an admin's decision on their own check (403 own-kyc-review), so the console does not offer one.</summary>
public sealed class KycOwnCheckTests : ConsoleTest
{
    [Fact]
    public async Task An_admins_own_check_is_listed_without_approve_or_reject_and_says_another_admin_must_review_it()
    {
        var own = new KycReview(Guid.NewGuid(), AdminId, "Local admin", "admin@example.com", "BR", "sandbox", "consider", DateTimeOffset.UtcNow, DateTimeOffset.UtcNow);
        var ana = new KycReview(Guid.NewGuid(), Guid.NewGuid(), "Ana", "ana@example.com", "BR", "sandbox", "consider", DateTimeOffset.UtcNow, DateTimeOffset.UtcNow);
        Gateway.Answer("/api/users/admin/kyc/reviews", () => new KycReviewPage([own, ana], null));
        Gateway.Answer($"/api/users/admin/kyc/reviews/{ana.CheckId}/approve",
            () => new KycCheck(ana.CheckId, "sandbox", "p-1", "approved", "consider", ana.CreatedAt, DateTimeOffset.UtcNow));
        var page = Bunit.Render<KycReviews>();
        var ownRow = $"[data-check-id='{own.CheckId}']";
        var anaRow = $"[data-check-id='{ana.CheckId}']";
        page.WaitForAssertion(() => Assert.Equal(2, page.FindAll("[data-testid=kyc-review]").Count));

        await ConfirmAsync(page, anaRow, "Approve");

        Assert.Empty(page.FindAll($"{ownRow} button"));
        Assert.Contains("another admin must review it", page.Find($"{ownRow} [data-testid=own-check]").TextContent);
        Assert.True(page.Find($"{ownRow} input").HasAttribute("disabled"));
        Assert.Equal("Approved", page.Find(anaRow).GetAttribute("data-decision"));
        Assert.DoesNotContain(Gateway.Requests, r => r.Contains(own.CheckId.ToString(), StringComparison.Ordinal));
    }
}
