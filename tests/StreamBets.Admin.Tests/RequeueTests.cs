using Bunit;
using StreamBets.Admin.Components.Pages;
using StreamBets.Admin.Operations;

namespace StreamBets.Admin.Tests;

/// <summary>
/// The Requeue button, which the browser tests cannot reach (the running app has no way to make a settlement fail): it
/// asks Settlement to run the failed one again and shows its new state in place. The requeue itself, with a real
/// refused payment, is tested in SettlementFailureTests.
/// </summary>
public sealed class RequeueTests : IAsyncLifetime
{
    private readonly ConsoleTestContext _console = new();

    public Task InitializeAsync() => _console.InitializeAsync();

    public Task DisposeAsync() => _console.DisposeAsync();

    [Fact]
    public async Task Requeue_sends_a_failed_settlement_back_and_its_row_shows_it_due_again()
    {
        var gateway = _console.Gateway;
        var poolId = Guid.NewGuid();
        var failed = new Settlement(poolId, "resolved", "failed", 5, "Ledger refused payment: escrow-account-missing",
            DateTimeOffset.UtcNow.AddMinutes(-5), null, 1_000, 400, null, null, null, null);
        gateway.Answer("/api/settlements?limit=20&status=failed", () => new SettlementPage([failed], null));
        gateway.Answer("/api/pools?ids=", () => new[]
        {
            new PoolSummary(poolId, new PoolChannel("twitch", "streamer1"), Guid.NewGuid(), "Who wins the round?", "Resolved", false, 250_00, null, []),
        });
        gateway.Answer($"/api/settlements/{poolId}/requeue", () => failed with { Status = "due", Attempts = 0, LastError = null, NextAttemptAt = DateTimeOffset.UtcNow });

        var page = _console.Bunit.Render<Settlements>();
        page.WaitForAssertion(() => Assert.Contains("Who wins the round?", page.Find($"[data-pool-id='{poolId}']").TextContent));
        Assert.Contains("escrow-account-missing", page.Find($"[data-pool-id='{poolId}']").TextContent);

        await page.Find($"[data-pool-id='{poolId}'] button").ClickAsync(new());

        var row = page.Find($"[data-pool-id='{poolId}']");
        Assert.Equal("due", row.GetAttribute("data-status"));
        Assert.DoesNotContain("escrow-account-missing", row.TextContent);
        Assert.Empty(row.QuerySelectorAll("button"));
        Assert.Contains("Requeued", page.Find("[data-testid=message]").TextContent);
        Assert.Contains($"POST /api/settlements/{poolId}/requeue", gateway.Requests);
    }
}
