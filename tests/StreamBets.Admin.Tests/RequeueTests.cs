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

        await ConfirmAsync(page, $"[data-pool-id='{poolId}']", "Requeue");

        var row = page.Find($"[data-pool-id='{poolId}']");
        Assert.Equal("due", row.GetAttribute("data-status"));
        Assert.DoesNotContain("escrow-account-missing", row.TextContent);
        Assert.Empty(row.QuerySelectorAll("button"));
        Assert.Contains("Requeued", page.Find("[data-testid=message]").TextContent);
        Assert.Contains($"POST /api/settlements/{poolId}/requeue", Gateway.Requests);
    }

    [Fact]
    public async Task Requeue_asks_first_naming_the_pool_by_question_and_channel_and_sends_nothing_until_confirmed()
    {
        var poolId = Guid.NewGuid();
        OneFailedSettlementToRequeue(poolId);
        Gateway.Answer("/api/pools?ids=", () => new[] { Pool(poolId, "Who wins the round?", "streamer1") });
        var page = Bunit.Render<Settlements>();
        var row = $"[data-pool-id='{poolId}']";
        page.WaitForAssertion(() => Assert.Contains("Who wins the round?", page.Find(row).TextContent));

        await page.InvokeAsync(() => Button(page, row, "Requeue").ClickAsync(new()));

        Assert.DoesNotContain(Gateway.Requests, r => r.StartsWith("POST", StringComparison.Ordinal));
        Assert.Equal("Requeue \"Who wins the round?\" (twitch:streamer1)", Confirmation(page, row).TextContent);
        await page.InvokeAsync(() => Dismissal(page, row).ClickAsync(new()));
        Assert.DoesNotContain(Gateway.Requests, r => r.StartsWith("POST", StringComparison.Ordinal));

        await ConfirmAsync(page, row, "Requeue");
        Assert.Single(Gateway.Requests, r => r == $"POST /api/settlements/{poolId}/requeue");
    }

    [Fact]
    public async Task A_requeue_asked_stays_with_its_pool_when_a_timed_read_puts_another_failed_pool_above_it()
    {
        var (asked, other) = (Guid.NewGuid(), Guid.NewGuid());
        OneFailedSettlementToRequeue(asked);
        Gateway.Answer("/api/pools?ids=", () => new[] { Pool(asked, "Who wins the round?", "streamer1"), Pool(other, "First blood?", "streamer2") });
        var page = Bunit.Render<Settlements>();
        page.WaitForAssertion(() => Assert.Single(page.FindAll("[data-testid=settlement]")));
        await page.InvokeAsync(() => Button(page, $"[data-pool-id='{asked}']", "Requeue").ClickAsync(new()));

        Gateway.Answer("/api/settlements?limit=20&status=failed", () => new SettlementPage([Failed(other), Failed(asked)], null));
        Clock.Advance(TimeSpan.FromSeconds(5));
        page.WaitForAssertion(() => Assert.Equal(2, page.FindAll("[data-testid=settlement]").Count));

        Assert.Empty(page.FindAll($"[data-pool-id='{other}'] [data-testid=confirm]"));
        await page.InvokeAsync(() => Confirmation(page, $"[data-pool-id='{asked}']").ClickAsync(new()));
        Assert.Equal([$"POST /api/settlements/{asked}/requeue"], Gateway.Requests.Where(r => r.StartsWith("POST", StringComparison.Ordinal)));
    }

    private static PoolSummary Pool(Guid id, string title, string channel) =>
        new(id, new PoolChannel("twitch", channel), Guid.NewGuid(), title, "Resolved", false, 250_00, null, []);
}
