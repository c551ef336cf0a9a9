using System.Net;
using Bunit;
using Polly.Timeout;
using StreamBets.Admin.Components.Pages;
using StreamBets.Admin.Operations;

namespace StreamBets.Admin.Tests;

/// <summary>
/// After an action whose buttons had the keyboard and left with their row, the page's message says what became of it
/// and takes the keyboard: else focus falls to the page's top and a screen reader says nothing. Before, a requeue, a lost
/// answer on Live pools or KYC review, another operator's decision first, and a pool that left the list while its Cancel
/// was asked all dropped the focus, some with no message at all.
/// </summary>
public sealed class ResultFocusTests : ConsoleTest
{
    [Fact]
    public async Task A_requeue_done_moves_the_keyboard_to_its_message()
    {
        var poolId = Guid.NewGuid();
        OneFailedSettlementToRequeue(poolId);
        var page = Bunit.Render<Settlements>();
        var row = $"[data-pool-id='{poolId}']";
        page.WaitForAssertion(() => Button(page, row, "Requeue"));

        await ConfirmAsync(page, row, "Requeue");

        var message = page.Find("[data-testid=message]");
        Assert.Contains("Requeued", message.TextContent);
        Assert.Equal("status", message.GetAttribute("role"));
        Assert.Equal(message.GetAttribute("blazor:elementReference"), FocusedLast());
    }

    [Fact]
    public async Task A_lock_whose_answer_was_lost_says_so_in_the_message_which_takes_the_keyboard()
    {
        var (page, pool, row) = LivePoolsWithOneToLock();
        Gateway.Throw($"/api/pools/{pool.Id}/lock", () => new TimeoutRejectedException());

        await ConfirmAsync(page, row, "Lock");

        var message = page.Find("[data-testid=message]");
        Assert.Contains($"\"{pool.Title}\" ({pool.Channel}) may have been locked", message.TextContent);
        Assert.Equal(message.GetAttribute("blazor:elementReference"), FocusedLast());
    }

    [Fact]
    public async Task A_cancel_answered_200_without_a_pool_is_a_lost_answer_not_a_dead_page()
    {
        // Before, the null pool went into the list and threw: the circuit ended, and every click after did nothing.
        var (page, pool, row) = LivePoolsWithOneToLock();
        Gateway.Answer($"/api/pools/{pool.Id}/cancel", () => null!);

        await ConfirmAsync(page, row, "Cancel");

        Assert.Contains("No clear answer came back, so this change may have been applied", page.Find("[data-testid=problem]").TextContent);
        Assert.Equal("May have been cancelled: the next read shows", page.Find(row).GetAttribute("data-result"));
        Assert.Equal(page.Find("[data-testid=message]").GetAttribute("blazor:elementReference"), FocusedLast());
        Assert.False(page.Find("button").HasAttribute("disabled")); // Refresh still answers
    }

    [Fact]
    public async Task A_pool_that_leaves_the_list_while_its_Cancel_is_asked_closes_the_confirmation_saying_why_with_the_keyboard()
    {
        var (page, pool, row) = LivePoolsWithOneToLock();
        await page.InvokeAsync(() => Button(page, row, "Cancel").ClickAsync(new()));

        Gateway.Answer("/api/pools/admin/live", Array.Empty<PoolSummary>); // resolved meanwhile
        Clock.Advance(TimeSpan.FromSeconds(5));
        page.WaitForAssertion(() => Assert.NotNull(page.Find("[data-testid=no-live-pools]")));

        var message = page.Find("[data-testid=message]");
        Assert.Contains($"\"{pool.Title}\" ({pool.Channel}) is no longer among the live pools shown", message.TextContent);
        Assert.Contains("Cancel was not sent", message.TextContent);
        Assert.Equal(message.GetAttribute("blazor:elementReference"), FocusedLast());
        Assert.DoesNotContain(Gateway.Requests, r => r.StartsWith("POST", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(HttpStatusCode.ServiceUnavailable, "dependency-unavailable", "Ana's check may have been approved")]
    [InlineData(HttpStatusCode.Conflict, "kyc-check-not-in-review", "Ana's check was decided by another operator first")]
    public async Task An_approval_without_a_clear_yes_says_what_became_of_the_check_in_the_message_which_takes_the_keyboard(
        HttpStatusCode status, string code, string said)
    {
        var review = new KycReview(Guid.NewGuid(), Guid.NewGuid(), "Ana", "ana@example.com", "BR", "sandbox", "consider", DateTimeOffset.UtcNow, DateTimeOffset.UtcNow);
        Gateway.Answer("/api/users/admin/kyc/reviews", () => new KycReviewPage([review], null));
        Gateway.Refuse($"/api/users/admin/kyc/reviews/{review.CheckId}/approve", status,
            new { type = $"https://streambets.dev/problems/{code}", title = "Refused", status = (int)status });
        var page = Bunit.Render<KycReviews>();
        var row = $"[data-check-id='{review.CheckId}']";
        page.WaitForAssertion(() => Button(page, row, "Approve"));

        await ConfirmAsync(page, row, "Approve");

        Assert.Empty(page.FindAll($"{row} button"));
        var message = page.Find("[data-testid=message]");
        Assert.Contains(said, message.TextContent);
        Assert.Equal(message.GetAttribute("blazor:elementReference"), FocusedLast());
    }
}
