using System.Net;
using Bunit;
using StreamBets.Admin.Components.Pages;
using StreamBets.Admin.Components.Shared;
using StreamBets.Admin.Operations;

namespace StreamBets.Admin.Tests;

/// <summary>
/// A click the browser sent before it received the render that closed a confirmation still reaches the page (Blazor
/// Server keeps a handler until the browser has the render that removed it), after the first click was answered. It
/// sends nothing: before, Live pools sent the lock or cancel again, Pools refused it (409), and its red problem replaced
/// the message saying the pool was locked or its bets were being refunded.
/// </summary>
public sealed class LateClickTests : ConsoleTest
{
    [Theory]
    [InlineData("Lock", "lock", "is locked", "pool-not-open")]
    [InlineData("Cancel", "cancel", "is cancelled", "invalid-transition")]
    public async Task A_late_click_on_a_live_pool_confirmation_sends_nothing_and_keeps_what_the_first_one_did(
        string action, string endpoint, string said, string refusal)
    {
        var (page, pool, row) = LivePoolsWithOneToLock();
        var sent = $"/api/pools/{pool.Id}/{endpoint}";
        Gateway.Answer($"/api/pools/{pool.Id}/cancel", () => pool with { State = "Cancelled", BettingOpen = false });
        await page.InvokeAsync(() => Button(page, row, action).ClickAsync(new()));
        var lateClick = page.FindComponents<ConfirmAction>().Single(asking => asking.Instance.Asking).Instance.OnConfirm;

        await page.InvokeAsync(() => Confirmation(page, row).ClickAsync(new()));
        Assert.Contains(said, page.Find("[data-testid=message]").TextContent);
        // Pools' answer to the same action again, as it is now.
        Gateway.Refuse(sent, HttpStatusCode.Conflict, new { type = $"https://streambets.dev/problems/{refusal}", title = "Not allowed in the pool's state", status = 409 });
        await page.InvokeAsync(() => lateClick.InvokeAsync());

        Assert.Single(Gateway.Requests, r => r == $"POST {sent}");
        Assert.Contains(said, page.Find("[data-testid=message]").TextContent);
        Assert.Empty(page.FindAll("[data-testid=problem]"));
    }

    /// <summary>
    /// Find does not wait for clicks, so a Show more sent from the previous account's render lands while Users is still
    /// finding the next one and no account is shown. Before, it read the shown account's id, threw, and the circuit
    /// ended ("An unhandled error has occurred"); now it is dropped, then and once the next account is shown: nothing is
    /// read for the account left, nor for the one shown.
    /// </summary>
    [Fact]
    public async Task A_show_more_sent_from_the_previous_accounts_render_during_a_find_is_dropped()
    {
        var ana = Player("Ana");
        var bia = Player("Bia");
        AnswerAccount(ana);
        AnswerAccount(bia);
        Gateway.Answer($"/api/bets/users/{ana.Id}", () => new BetPage([], "next-bets"));
        var page = Bunit.Render<Accounts>();
        await FindOnAccountsAsync(page, ana.Email);
        page.WaitForAssertion(() => Assert.Equal("Show more", page.Find("[data-testid=bets] button").TextContent));
        var lateShowMore = ClickSentFrom(page, page.Find("[data-testid=bets] button"));

        var biaFound = Gateway.HoldNext($"/api/users/admin/users?email={bia.Email}");
        var biaSearch = FindOnAccountsAsync(page, bia.Email);
        await Gateway.WaitForRequestAsync($"GET /api/users/admin/users?email={bia.Email}");
        await lateShowMore();
        biaFound.SetResult();
        await biaSearch;

        page.WaitForAssertion(() => Assert.Equal("Bia", page.Find("[data-testid=account] h2").TextContent));
        await lateShowMore(); // and once Bia is shown: it was made on Ana's bets, not hers

        Assert.Single(Gateway.Requests, r => r.StartsWith($"GET /api/bets/users/{ana.Id}", StringComparison.Ordinal));
        Assert.Single(Gateway.Requests, r => r.StartsWith($"GET /api/bets/users/{bia.Id}", StringComparison.Ordinal));
    }

    private static Account Player(string name) =>
        new(Guid.NewGuid(), $"{name.ToLowerInvariant()}@example.com", name, "player", 1, "BR", DateTimeOffset.UtcNow);
}
