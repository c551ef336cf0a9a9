using System.Net;
using System.Text.Json;
using Bunit;
using StreamBets.Admin.Components.Pages;
using StreamBets.Admin.Operations;

namespace StreamBets.Admin.Tests;

/// <summary>
/// A read that fails says so where its list is, beside a button that sends it again, and never looks like an answer.
/// Before, a failed Show more ended the list (its button gone, as on the last page) and a failed first read showed
/// "No settlements are failed", "No wallet lines yet" and the like: an operator was told there was nothing there.
/// </summary>
public sealed class FailedReadTests : ConsoleTest
{
    private const string Unavailable = "https://streambets.dev/problems/dependency-unavailable";

    [Fact]
    public async Task A_failed_show_more_of_wallet_lines_keeps_the_lines_and_its_button_and_says_why_beside_them()
    {
        var ana = Player("Ana");
        AccountWith(ana);
        Gateway.Answer($"/api/users/admin/wallets/{ana.Id}/history?limit=20", () => new WalletHistoryPage([Line("deposit")], "w1"));
        Gateway.Refuse($"/api/users/admin/wallets/{ana.Id}/history?limit=20&cursor=w1", HttpStatusCode.ServiceUnavailable, Problem("Ledger unavailable"));
        // Another problem already shown in the card (the balance's) must not hide this read's.
        Gateway.Refuse($"/api/users/admin/wallets/{ana.Id}", HttpStatusCode.ServiceUnavailable, Problem("Balance unavailable"));
        var page = await FindAsync(ana);
        page.WaitForAssertion(() => Assert.Single(page.FindAll("[data-testid=wallet-line]")));

        await page.InvokeAsync(() => Button(page, "[data-testid=wallet]", "Show more").ClickAsync(new()));

        Assert.Single(page.FindAll("[data-testid=wallet-line]"));
        Assert.Contains("Ledger unavailable", page.Find(WalletLinesProblem).TextContent);
        Gateway.Answer($"/api/users/admin/wallets/{ana.Id}/history?limit=20&cursor=w1", () => new WalletHistoryPage([Line("stake")], null));
        await page.InvokeAsync(() => page.FindAll("[data-testid=wallet] > button").Single(b => b.TextContent == "Try again").ClickAsync(new()));
        Assert.Equal(["deposit", "stake"], page.FindAll("[data-testid=wallet-line]").Select(l => l.GetAttribute("data-reason")));
        Assert.Empty(page.FindAll(WalletLinesProblem));
        Assert.Contains("Balance unavailable", page.Find("[data-testid=balance-read] [data-testid=problem]").TextContent);
    }

    [Fact]
    public async Task A_failed_balance_read_says_the_balance_could_not_be_read_and_offers_to_try_again_never_loading_forever()
    {
        var ana = Player("Ana");
        AccountWith(ana);
        Gateway.Refuse($"/api/users/admin/wallets/{ana.Id}", HttpStatusCode.ServiceUnavailable, Problem("Balance unavailable"));
        var page = await FindAsync(ana);

        page.WaitForAssertion(() => Assert.Equal("balance could not be read", page.Find("[data-testid=wallet-balance]").TextContent));
        Assert.Contains("Balance unavailable", page.Find("[data-testid=wallet] [data-testid=balance-read] [data-testid=problem]").TextContent);
        Assert.Contains("No wallet lines yet", page.Find("[data-testid=wallet]").TextContent); // the lines were read: only the balance failed

        Gateway.Answer($"/api/users/admin/wallets/{ana.Id}", () => new WalletBalance(ana.Id, 12_34));
        await page.InvokeAsync(() => Button(page, "[data-testid=balance-read]", "Try again").ClickAsync(new()));
        Assert.Equal(Display.Amount(12_34), page.Find("[data-testid=wallet-balance]").TextContent);
        Assert.Empty(page.FindAll("[data-testid=balance-read]"));
        Assert.Empty(page.FindAll("[data-testid=problem]"));
        Assert.Equal(2, Gateway.Requests.Count(r => r == $"GET /api/users/admin/wallets/{ana.Id}"));
    }

    [Fact]
    public async Task A_failed_first_read_of_wallet_lines_and_bets_never_says_there_are_none()
    {
        var ana = Player("Ana");
        AccountWith(ana);
        Gateway.Refuse($"/api/users/admin/wallets/{ana.Id}/history", HttpStatusCode.ServiceUnavailable, Problem("Ledger unavailable"));
        Gateway.Refuse($"/api/bets/users/{ana.Id}", HttpStatusCode.ServiceUnavailable, Problem("Bets unavailable"));
        var page = await FindAsync(ana);

        page.WaitForAssertion(() => Assert.Contains("Bets unavailable", page.Find("[data-testid=bets] [data-testid=problem]").TextContent));
        Assert.Contains("Ledger unavailable", page.Find("[data-testid=wallet] [data-testid=problem]").TextContent);
        Assert.DoesNotContain("No wallet lines yet", page.Find("[data-testid=wallet]").TextContent);
        Assert.DoesNotContain("No bets yet", page.Find("[data-testid=bets]").TextContent);

        Gateway.Answer($"/api/bets/users/{ana.Id}", () => new BetPage([], null));
        await page.InvokeAsync(() => Button(page, "[data-testid=bets]", "Try again").ClickAsync(new()));
        Assert.Contains("No bets yet", page.Find("[data-testid=bets]").TextContent);
    }

    [Fact]
    public async Task A_failed_show_more_of_recent_changes_keeps_the_rows_and_offers_to_try_again()
    {
        SettingsAnswered();
        Gateway.Answer("/api/pools/admin/changes?limit=20", () => new AdminChangePage([Change(2)], "c1"));
        Gateway.Refuse("/api/pools/admin/changes?limit=20&cursor=c1", HttpStatusCode.ServiceUnavailable, Problem("Pools unavailable"));
        var page = Bunit.Render<PoolSettings>();
        page.WaitForAssertion(() => Assert.Single(page.FindAll("[data-testid=change]")));

        await page.InvokeAsync(() => Button(page, "[data-testid=changes]", "Show more").ClickAsync(new()));

        Assert.Single(page.FindAll("[data-testid=change]"));
        Assert.Contains("Pools unavailable", page.Find("[data-testid=changes] [data-testid=problem]").TextContent);
        Gateway.Answer("/api/pools/admin/changes?limit=20&cursor=c1", () => new AdminChangePage([Change(1)], null));
        await page.InvokeAsync(() => Button(page, "[data-testid=changes]", "Try again").ClickAsync(new()));
        Assert.Equal(["2", "1"], page.FindAll("[data-testid=change]").Select(c => c.GetAttribute("data-subject")));
    }

    [Fact]
    public async Task A_failed_re_read_of_recent_changes_after_a_save_keeps_the_rows_shown()
    {
        SettingsAnswered();
        Gateway.Answer("/api/pools/admin/templates/next-map", () => new PoolTemplate("next-map", "Who wins the next map?", ["Blue", "Red"], 90, null, null, "t1"));
        Gateway.Answer("/api/pools/admin/changes?limit=20", () => new AdminChangePage([Change(2)], null));
        var page = Bunit.Render<PoolSettings>();
        page.WaitForAssertion(() => Assert.Single(page.FindAll("[data-testid=change]")));

        Gateway.Refuse("/api/pools/admin/changes?limit=20", HttpStatusCode.ServiceUnavailable, Problem("Pools unavailable"));
        page.Find("#template-id").Change("next-map");
        page.Find("#template-title").Change("Who wins the next map?");
        page.Find("#template-outcomes").Change("Blue\nRed");
        await page.Find("[data-testid=template-form]").SubmitAsync();

        Assert.Single(page.FindAll("[data-testid=change]"));
        Assert.DoesNotContain("No changes yet", page.Find("[data-testid=changes]").TextContent);
        Assert.Contains("Pools unavailable", page.Find("[data-testid=changes] [data-testid=problem]").TextContent);
        Gateway.Answer("/api/pools/admin/changes?limit=20", () => new AdminChangePage([Change(3), Change(2)], null));
        await page.InvokeAsync(() => Button(page, "[data-testid=changes]", "Try again").ClickAsync(new()));
        Assert.Equal(2, page.FindAll("[data-testid=change]").Count); // read again from the newest, not added to
    }

    [Fact]
    public async Task A_failed_first_read_of_settlements_says_so_with_a_try_again_not_that_none_failed()
    {
        var poolId = Guid.NewGuid();
        Gateway.Refuse("/api/settlements?limit=20&status=failed", HttpStatusCode.ServiceUnavailable, Problem("Settlement unavailable"));
        Gateway.Answer("/api/pools?ids=", Array.Empty<PoolSummary>);
        var page = Bunit.Render<Settlements>();

        page.WaitForAssertion(() => Assert.Contains("Settlement unavailable", page.Find("[data-testid=problem]").TextContent));
        Assert.Empty(page.FindAll("[data-testid=no-settlements]"));

        Gateway.Answer("/api/settlements?limit=20&status=failed", () => new SettlementPage([Failed(poolId)], null));
        await page.InvokeAsync(() => page.FindAll("button").Single(b => b.TextContent == "Try again").ClickAsync(new()));
        Assert.Single(page.FindAll("[data-testid=settlement]"));
        Assert.Empty(page.FindAll("[data-testid=problem]"));
    }

    [Fact]
    public void A_failed_first_read_of_live_pools_never_says_no_pool_is_open()
    {
        Gateway.Refuse("/api/pools/admin/live", HttpStatusCode.ServiceUnavailable, Problem("Pools unavailable"));
        var page = Bunit.Render<LivePools>();

        page.WaitForAssertion(() => Assert.Contains("Pools unavailable", page.Find("[data-testid=problem]").TextContent));
        Assert.Empty(page.FindAll("[data-testid=no-live-pools]"));
        Assert.DoesNotContain("Loading", page.Markup);
    }

    [Fact]
    public void A_failed_first_read_of_kyc_reviews_never_says_no_check_is_waiting()
    {
        Gateway.Refuse("/api/users/admin/kyc/reviews", HttpStatusCode.ServiceUnavailable, Problem("Users unavailable"));
        var page = Bunit.Render<KycReviews>();

        page.WaitForAssertion(() => Assert.Contains("Users unavailable", page.Find("[data-testid=problem]").TextContent));
        Assert.Empty(page.FindAll("[data-testid=no-reviews]"));
        Assert.DoesNotContain("Loading", page.Markup);
    }

    [Fact]
    public async Task Templates_are_read_even_when_the_defaults_are_not_and_the_defaults_can_be_read_again()
    {
        Gateway.Refuse("/api/pools/admin/config", HttpStatusCode.ServiceUnavailable, Problem("Config unavailable"));
        Gateway.Answer("/api/pools/admin/templates", () => new[] { new PoolTemplate("next-map", "Who wins the next map?", ["Blue", "Red"], 90, null, null, "t1") });
        Gateway.Answer("/api/pools/admin/changes", () => new AdminChangePage([], null));
        var page = Bunit.Render<PoolSettings>();

        page.WaitForAssertion(() => Assert.Single(page.FindAll("[data-template-id=next-map]")));
        Assert.Contains("Config unavailable", page.Find("[data-testid=problem]").TextContent);
        Assert.DoesNotContain("Loading", page.Find("[data-testid=pools-config]").TextContent);

        Gateway.Answer("/api/pools/admin/config", () => new PoolsSettings(500, 100, 100_000, true, 24, "v1"));
        await page.InvokeAsync(() => Button(page, "[data-testid=pools-config]", "Try again").ClickAsync(new()));
        Assert.Equal("500", page.Find("#rake").GetAttribute("value"));
        Assert.Empty(page.FindAll("[data-testid=problem]"));
    }

    private void SettingsAnswered()
    {
        Gateway.Answer("/api/pools/admin/config", () => new PoolsSettings(500, 100, 100_000, true, 24, "v1"));
        Gateway.Answer("/api/pools/admin/templates", Array.Empty<PoolTemplate>);
    }

    private static Account Player(string name) => new(Guid.NewGuid(), $"{name.ToLowerInvariant()}@example.com", name, "player", 1, "BR", DateTimeOffset.UtcNow);

    private void AccountWith(Account account)
    {
        Gateway.Answer($"/api/users/admin/users?email={account.Email}", () => account);
        Gateway.Answer($"/api/users/admin/wallets/{account.Id}", () => new WalletBalance(account.Id, 10_00));
        Gateway.Answer($"/api/users/admin/wallets/{account.Id}/history", () => new WalletHistoryPage([], null));
        Gateway.Answer($"/api/bets/users/{account.Id}", () => new BetPage([], null));
        Gateway.Answer("/api/pools/admin/channels?ownerId=", Array.Empty<ChannelLink>);
    }

    private async Task<IRenderedComponent<Accounts>> FindAsync(Account account)
    {
        var page = Bunit.Render<Accounts>();
        page.Find("#email").Change(account.Email);
        await page.Find("[data-testid=find-account]").SubmitAsync();
        page.WaitForAssertion(() => page.Find("[data-testid=account]"));
        return page;
    }

    private static WalletLine Line(string reason) => new(Guid.NewGuid(), reason, null, 10_00, 10_00, DateTimeOffset.UtcNow, null);

    private static AdminChange Change(long id) =>
        new(id, DateTimeOffset.UtcNow, Guid.NewGuid(), "Local admin", "config-saved", id.ToString(), JsonDocument.Parse("{}").RootElement);

    /// <summary>The wallet lines' problem: the card's own, not the balance's inside it.</summary>
    private const string WalletLinesProblem = "[data-testid=wallet] > [data-testid=problem]";

    private static object Problem(string title) => new { type = Unavailable, title, status = 503 };
}
