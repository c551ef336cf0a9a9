using System.Net;
using Bunit;
using Polly.Timeout;
using StreamBets.Admin.Components.Pages;
using StreamBets.Admin.Operations;

namespace StreamBets.Admin.Tests;

/// <summary>
/// What the console says when a change gets no clear answer. A service can fail after committing (the pool cancelled,
/// then reading it back failed), and a timeout can come after the gateway took the change: the operator is told the
/// change may have been applied and to reload, never that nothing changed, which would invite doing it twice.
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
    public async Task A_services_own_unavailable_problem_is_shown_in_its_words_with_its_trace_id()
    {
        var poolId = Guid.NewGuid();
        Gateway.Answer("/api/settlements?limit=20&status=failed", () => new SettlementPage([Failed(poolId)], null));
        Gateway.Answer("/api/pools?ids=", Array.Empty<PoolSummary>);
        Gateway.Refuse($"/api/settlements/{poolId}/requeue", HttpStatusCode.ServiceUnavailable, new
        {
            type = "https://streambets.dev/problems/dependency-unavailable",
            title = "Pools unavailable",
            status = 503,
            detail = "The pool's owner could not be checked just now; try again in a few seconds.",
            traceId = TraceId,
        });
        var page = Bunit.Render<Settlements>();
        var row = $"[data-pool-id='{poolId}']";
        page.WaitForAssertion(() => Button(page, row, "Requeue"));

        await ConfirmAsync(page, row, "Requeue");

        var notice = page.Find("[data-testid=problem]");
        Assert.Equal("dependency-unavailable", notice.GetAttribute("data-code"));
        Assert.Contains("The pool's owner could not be checked just now", notice.TextContent);
        Assert.Contains(TraceId, notice.TextContent);
    }
}
