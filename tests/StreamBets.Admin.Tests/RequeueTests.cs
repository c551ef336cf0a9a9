using Bunit;
using StreamBets.Admin.Components.Pages;
using StreamBets.Admin.Operations;

namespace StreamBets.Admin.Tests;

/// <summary>
/// The Requeue button, which the browser tests cannot reach (the running app has no way to make a settlement fail): it
/// asks Settlement to run the failed one again and shows its new state in place. The requeue itself, with a real
/// refused payment, is tested in SettlementFailureTests.
/// </summary>
public sealed class RequeueTests : ConsoleTest
{
    [Fact]
    public async Task Requeue_sends_a_failed_settlement_back_and_its_row_shows_it_due_again()
    {
        var poolId = Guid.NewGuid();
        var failed = Failed(poolId);
        Gateway.Answer("/api/settlements?limit=20&status=failed", () => new SettlementPage([failed], null));
        Gateway.Answer("/api/pools?ids=", () => new[]
        {
            new PoolSummary(poolId, new PoolChannel("twitch", "streamer1"), Guid.NewGuid(), "Who wins the round?", "Resolved", false, 250_00, null, []),
        });
        Gateway.Answer($"/api/settlements/{poolId}/requeue", () => failed with { Status = "due", Attempts = 0, LastError = null, NextAttemptAt = DateTimeOffset.UtcNow });

        var page = Bunit.Render<Settlements>();
        page.WaitForAssertion(() => Assert.Contains("Who wins the round?", page.Find($"[data-pool-id='{poolId}']").TextContent));
        Assert.Contains("escrow-account-missing", page.Find($"[data-pool-id='{poolId}']").TextContent);

        await page.InvokeAsync(() => page.Find($"[data-pool-id='{poolId}'] button").ClickAsync(new()));

        var row = page.Find($"[data-pool-id='{poolId}']");
        Assert.Equal("due", row.GetAttribute("data-status"));
        Assert.DoesNotContain("escrow-account-missing", row.TextContent);
        Assert.Empty(row.QuerySelectorAll("button"));
        Assert.Contains("Requeued", page.Find("[data-testid=message]").TextContent);
        Assert.Contains($"POST /api/settlements/{poolId}/requeue", Gateway.Requests);
    }
}
