using System.Net;
using System.Net.Http.Json;
using Bunit;
using Polly.Timeout;
using StreamBets.Admin.Components.Pages;
using StreamBets.Admin.Operations;
using StreamBets.FrontEnd.Gateway;

namespace StreamBets.Admin.Tests;

/// <summary>
/// What the console says when a change gets no clear answer. A service can fail after committing (the pool cancelled,
/// then reading it back failed), its database can fail during the COMMIT (503 dependency-unavailable, though the commit
/// may have been made), and a timeout can come after the gateway took the change: the operator is told the change may
/// have been applied and to reload, never that nothing changed, which would invite doing it twice. A refusal named for
/// what it refused (admin-save-busy, a 409) says nothing was made, and is shown in the service's words.
/// </summary>
public sealed class UnknownOutcomeTests : ConsoleTest
{
    private const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";

    [Fact]
    public async Task A_cancel_answered_with_a_server_error_may_have_been_applied_and_the_notice_gives_its_trace_id()
    {
        var pool = LivePool("Who wins the round?");
        Gateway.Answer("/api/pools/admin/live", () => new[] { pool });
        // ServiceDefaults' answer to an unexpected error: a generic problem (no type of ours) with the trace id.
        Gateway.Refuse($"/api/pools/{pool.Id}/cancel", HttpStatusCode.InternalServerError, new
        {
            type = "https://tools.ietf.org/html/rfc9110#section-15.6.1",
            title = "An unexpected error occurred.",
            status = 500,
            detail = "The error was logged with the trace id below.",
            traceId = TraceId,
        });
        var page = Bunit.Render<LivePools>();
        var row = $"[data-pool-id='{pool.Id}']";
        page.WaitForAssertion(() => Button(page, row, "Cancel"));

        await page.InvokeAsync(() => Button(page, row, "Cancel").ClickAsync(new()));
        await page.InvokeAsync(() => Button(page, row, "Refund").ClickAsync(new()));

        var notice = page.Find("[data-testid=problem]").TextContent;
        Assert.Contains("may have been applied", notice);
        Assert.DoesNotContain("Nothing was changed", notice);
        Assert.Contains(TraceId, notice);
    }

    [Fact]
    public async Task A_lock_left_without_an_answer_may_have_been_applied()
    {
        var pool = LivePool("Who wins the round?");
        Gateway.Answer("/api/pools/admin/live", () => new[] { pool });
        Gateway.Throw($"/api/pools/{pool.Id}/lock", () => new TimeoutRejectedException()); // the attempt timed out after sending
        var page = Bunit.Render<LivePools>();
        var row = $"[data-pool-id='{pool.Id}']";
        page.WaitForAssertion(() => Button(page, row, "Lock"));

        await ConfirmAsync(page, row, "Lock");

        var notice = page.Find("[data-testid=problem]").TextContent;
        Assert.Contains("may have been applied", notice);
        Assert.DoesNotContain("Nothing was changed", notice);
    }

    [Fact]
    public async Task A_cancel_left_without_an_answer_shows_it_may_have_been_cancelled_and_offers_no_buttons_until_the_next_read()
    {
        // Before, the row kept Lock and Cancel: a second confirm was refused 409, which replaced the notice to reload.
        var pool = LivePool("Who wins the round?");
        Gateway.Answer("/api/pools/admin/live", () => new[] { pool });
        Gateway.Throw($"/api/pools/{pool.Id}/cancel", () => new TaskCanceledException()); // the client gave up waiting
        var page = Bunit.Render<LivePools>();
        var row = $"[data-pool-id='{pool.Id}']";
        page.WaitForAssertion(() => Button(page, row, "Cancel"));

        await ConfirmAsync(page, row, "Cancel");

        Assert.Contains("may have been applied", page.Find("[data-testid=problem]").TextContent);
        Assert.Equal("May have been cancelled: the next read shows", page.Find(row).GetAttribute("data-result"));
        Assert.Empty(page.FindAll($"{row} button"));

        // The next read shows the pool still open: its buttons come back.
        await page.InvokeAsync(() => page.FindAll("button").Single(b => b.TextContent == "Refresh").ClickAsync(new()));
        page.WaitForAssertion(() => Button(page, row, "Cancel"));
        Assert.Single(Gateway.Requests, r => r.StartsWith("POST", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_requeue_answered_dependency_unavailable_may_have_been_applied_and_says_what_failed_with_its_trace_id()
    {
        var poolId = Guid.NewGuid();
        Gateway.Answer("/api/settlements?limit=20&status=failed", () => new SettlementPage([Failed(poolId)], null));
        Gateway.Answer("/api/pools?ids=", Array.Empty<PoolSummary>);
        Gateway.Refuse($"/api/settlements/{poolId}/requeue", HttpStatusCode.ServiceUnavailable, DatabaseDidNotAnswer());
        var page = Bunit.Render<Settlements>();
        var row = $"[data-pool-id='{poolId}']";
        page.WaitForAssertion(() => Button(page, row, "Requeue"));

        await ConfirmAsync(page, row, "Requeue");

        var notice = page.Find("[data-testid=problem]");
        Assert.Equal("dependency-unavailable", notice.GetAttribute("data-code"));
        Assert.Contains("may have been applied", notice.TextContent);
        Assert.Contains("A database this service needs did not answer", notice.TextContent);
        // Its detail's "try again" is not repeated: a reload comes first.
        Assert.DoesNotContain("Try again in a few seconds", notice.TextContent);
        Assert.Contains(TraceId, notice.TextContent);
    }

    [Fact]
    public async Task An_approval_answered_dependency_unavailable_may_have_been_made_and_is_not_offered_again_until_a_refresh()
    {
        // The approval's COMMIT was cut off by a failover, and committed: clicking Approve again would be refused
        // kyc-check-not-in-review and marked "Decided by another operator", though the decision was this operator's.
        var review = new KycReview(Guid.NewGuid(), Guid.NewGuid(), "Ana", "ana@example.com", "BR", "sandbox", "consider", DateTimeOffset.UtcNow, DateTimeOffset.UtcNow);
        Gateway.Answer("/api/users/admin/kyc/reviews", () => new KycReviewPage([review], null));
        Gateway.Refuse($"/api/users/admin/kyc/reviews/{review.CheckId}/approve", HttpStatusCode.ServiceUnavailable, DatabaseDidNotAnswer());
        var page = Bunit.Render<KycReviews>();
        var row = $"[data-check-id='{review.CheckId}']";
        page.WaitForAssertion(() => Button(page, row, "Approve"));

        await ConfirmAsync(page, row, "Approve");

        var notice = page.Find("[data-testid=problem]").TextContent;
        Assert.Contains("may have been applied", notice);
        Assert.Contains("Reload the page to check", notice);
        Assert.Equal("May have been approved: Refresh to check", page.Find(row).GetAttribute("data-decision"));
        Assert.Empty(page.FindAll($"{row} button"));

        // Refresh: the check left the queue, so the approval was made.
        Gateway.Answer("/api/users/admin/kyc/reviews", () => new KycReviewPage([], null));
        await page.InvokeAsync(() => page.FindAll("button").Single(b => b.TextContent == "Refresh").ClickAsync(new()));
        page.WaitForAssertion(() => Assert.NotNull(page.Find("[data-testid=no-reviews]")));
        Assert.DoesNotContain("Decided by another operator", page.Markup);
        Assert.Single(Gateway.Requests, r => r.StartsWith("POST", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_change_answered_dependency_unavailable_has_an_unknown_outcome_and_a_read_does_not()
    {
        using var change = Problem(HttpStatusCode.ServiceUnavailable, DatabaseDidNotAnswer());
        using var read = Problem(HttpStatusCode.ServiceUnavailable, DatabaseDidNotAnswer());

        var changed = await ApiProblem.ReadAsync(change, change: true, CancellationToken.None);
        var readOnly = await ApiProblem.ReadAsync(read, change: false, CancellationToken.None);

        Assert.Equal(ApiProblem.Unavailable, changed.Code); // the code a retry keeps its idempotency key on
        Assert.True(changed.OutcomeUnknown);
        Assert.Equal(TraceId, changed.TraceId);
        Assert.False(readOnly.OutcomeUnknown);
    }

    [Theory]
    [InlineData(HttpStatusCode.ServiceUnavailable, "admin-save-busy")] // refused before the save's transaction writes
    [InlineData(HttpStatusCode.ServiceUnavailable, "pools-settings-unavailable")] // no pool opened without its terms
    [InlineData(HttpStatusCode.Conflict, "kyc-check-not-in-review")]
    public async Task A_change_refused_by_a_named_problem_of_its_own_was_not_made(HttpStatusCode status, string code)
    {
        using var response = Problem(status, new { type = ApiProblem.TypePrefix + code, title = "Refused", status = (int)status, detail = "Nothing was saved." });

        var problem = await ApiProblem.ReadAsync(response, change: true, CancellationToken.None);

        Assert.Equal(code, problem.Code);
        Assert.False(problem.OutcomeUnknown);
    }

    /// <summary>ServiceDefaults' answer to a database that failed (NpgsqlException, transient): perhaps during its COMMIT.</summary>
    private static object DatabaseDidNotAnswer() => new
    {
        type = "https://streambets.dev/problems/dependency-unavailable",
        title = "A database this service needs did not answer.",
        status = 503,
        detail = "Try again in a few seconds, with the same Idempotency-Key if the request had one.",
        traceId = TraceId,
    };

    private static HttpResponseMessage Problem(HttpStatusCode status, object body) =>
        new(status) { Content = JsonContent.Create(body, mediaType: new("application/problem+json")) };
}
