using System.Text.Json;
using Bunit;
using StreamBets.Admin.Components.Pages;
using StreamBets.Admin.Operations;

namespace StreamBets.Admin.Tests;

/// <summary>
/// An answer that arrives after the page has moved on (another search, a fresh list after a save) is dropped, never
/// added to what the page shows now. Before, the late answer landed on the newer list: one player's wallet lines under
/// another's name, and a change listed twice (the CI failure of the console's browser test).
/// </summary>
public sealed class LateAnswerTests : ConsoleTest
{
    [Fact]
    public async Task A_slow_answer_to_an_earlier_search_never_shows_that_player_or_their_lines_under_the_later_one()
    {
        var ana = Support(new Account(Guid.NewGuid(), "ana@example.com", "Ana", "player", 1, "BR", DateTimeOffset.UtcNow), "deposit");
        var bia = Support(new Account(Guid.NewGuid(), "bia@example.com", "Bia", "player", 1, "BR", DateTimeOffset.UtcNow), "settlement");
        var anaFound = Gateway.HoldNext($"/api/users/admin/users?email={ana.Email}");
        var page = Bunit.Render<Accounts>();

        var anaSearch = SearchAsync(page, ana.Email);
        await SearchAsync(page, bia.Email);
        page.WaitForAssertion(() => Assert.Equal("Bia", page.Find("[data-testid=account] h2").TextContent));

        anaFound.SetResult();
        await anaSearch;

        Assert.Equal("Bia", page.Find("[data-testid=account] h2").TextContent);
        Assert.Equal(["settlement"], page.FindAll("[data-testid=wallet-line]").Select(line => line.GetAttribute("data-reason")));
        Assert.DoesNotContain(Gateway.Requests, request => request.Contains(ana.Id.ToString(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_change_saved_while_the_history_still_loads_is_listed_once()
    {
        Gateway.Answer("/api/pools/admin/config", () => new PoolsSettings(500, 100, 100_000, true, 24));
        Gateway.Answer("/api/pools/admin/templates", Array.Empty<PoolTemplate>);
        Gateway.Answer("/api/pools/admin/templates/next-map", () => new PoolTemplate("next-map", "Who wins the next map?", ["Blue", "Red"], 90, null, null));
        // Both history reads run after the save, so both answers hold the new change.
        var saved = new AdminChange(7, DateTimeOffset.UtcNow, Guid.NewGuid(), "Local admin", "template-saved", "next-map",
            JsonDocument.Parse("""{"outcomes":["Blue","Red"]}""").RootElement);
        Gateway.Answer("/api/pools/admin/changes", () => new AdminChangePage([saved], null));
        var firstHistory = Gateway.HoldNext("/api/pools/admin/changes");

        var page = Bunit.Render<PoolSettings>();
        await Gateway.WaitForRequestAsync("GET /api/pools/admin/changes");
        page.Find("#template-id").Change("next-map");
        page.Find("#template-title").Change("Who wins the next map?");
        page.Find("#template-outcomes").Change("Blue\nRed");
        await page.Find("[data-testid=template-form]").SubmitAsync();
        page.WaitForAssertion(() => Assert.Single(page.FindAll("[data-testid=change]")));

        var renders = page.RenderCount;
        firstHistory.SetResult();
        page.WaitForState(() => page.RenderCount > renders);

        var change = Assert.Single(page.FindAll("[data-testid=change]"));
        Assert.Equal("next-map", change.GetAttribute("data-subject"));
    }

    [Fact]
    public async Task A_settlement_found_by_id_is_not_joined_by_the_first_pages_late_rows()
    {
        var failed = Failed(Guid.NewGuid());
        var sought = failed with { PoolId = Guid.NewGuid(), Status = "settled", LastError = null };
        Gateway.Answer("/api/settlements?limit=20&status=failed", () => new SettlementPage([failed], null));
        Gateway.Answer($"/api/settlements/{sought.PoolId}", () => sought);
        Gateway.Answer("/api/pools?ids=", Array.Empty<PoolSummary>);
        var firstPage = Gateway.HoldNext("/api/settlements?limit=20&status=failed");

        var page = Bunit.Render<Settlements>();
        await Gateway.WaitForRequestAsync("GET /api/settlements?limit=20&status=failed");
        page.Find("#pool-id").Change(sought.PoolId.ToString());
        await page.Find("[data-testid=find-settlement]").SubmitAsync();
        page.WaitForAssertion(() => Assert.Single(page.FindAll("[data-testid=settlement]")));

        var renders = page.RenderCount;
        firstPage.SetResult();
        page.WaitForState(() => page.RenderCount > renders);

        var row = Assert.Single(page.FindAll("[data-testid=settlement]"));
        Assert.Equal(sought.PoolId.ToString(), row.GetAttribute("data-pool-id"));
    }

    private Account Support(Account player, string lineReason)
    {
        Gateway.Answer($"/api/users/admin/users?email={player.Email}", () => player);
        Gateway.Answer($"/api/users/admin/wallets/{player.Id}", () => new WalletBalance(player.Id, 10_00));
        Gateway.Answer($"/api/users/admin/wallets/{player.Id}/history",
            () => new WalletHistoryPage([new WalletLine(Guid.NewGuid(), lineReason, null, 10_00, 10_00, DateTimeOffset.UtcNow, null)], null));
        Gateway.Answer($"/api/bets/users/{player.Id}", () => new BetPage([], null));
        return player;
    }

    private static Task SearchAsync(IRenderedComponent<Accounts> page, string email)
    {
        page.Find("#email").Change(email);
        return page.Find("[data-testid=find-account]").SubmitAsync();
    }
}
