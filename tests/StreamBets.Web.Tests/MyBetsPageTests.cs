using Bunit;
using StreamBets.Web.Components.Pages;
using StreamBets.Web.Gateway;

namespace StreamBets.Web.Tests;

/// <summary>The player's bets page says there are none only once the list has answered.</summary>
public sealed class MyBetsPageTests : PlayerPageTest
{
    private const string BetsPath = "/api/bets/mine";

    [Fact]
    public async Task My_bets_says_there_are_none_only_once_the_list_has_answered()
    {
        Gateway.Answer(BetsPath, new BetPage([], null));
        var releaseBets = Gateway.Hold(BetsPath);
        // The browser has not told its time zone yet: the bets are read after it.
        var zone = Bunit.JSInterop.Setup<string?>(PlayerClock.ZoneFunction);
        var page = Bunit.Render<MyBets>();

        Assert.Empty(page.FindAll(".empty"));
        await page.InvokeAsync(() => zone.SetResult("UTC"));
        Assert.True(await SoonAsync(() => Gateway.Requests.Contains(BetsPath)));
        Assert.Empty(page.FindAll(".empty"));
        releaseBets();

        page.WaitForAssertion(() => Assert.Single(page.FindAll(".empty")));
    }

    [Fact]
    public async Task A_failed_load_more_keeps_the_bets_shown_and_tries_again_from_where_it_stopped()
    {
        Bunit.JSInterop.Setup<string?>(PlayerClock.ZoneFunction).SetResult("UTC");
        var first = ABet(10_00);
        Gateway.Answer(BetsPath, new BetPage([first], "page-2"));
        var page = Bunit.Render<MyBets>();
        page.WaitForAssertion(() => Assert.Single(page.FindAll("[data-testid=my-bet-row]")));

        Gateway.Refuse(BetsPath, 429, "rate-limited");
        await page.FindAndClickAsync("[data-testid=load-more]");

        page.WaitForAssertion(() => Assert.Equal("rate-limited", page.Find("[data-testid=problem]").GetAttribute("data-code")));
        Assert.Single(page.FindAll("[data-testid=my-bet-row]"));
        Gateway.Answer(BetsPath, new BetPage([first], "page-2"));
        Gateway.AnswerPage(BetsPath, "page-2", new BetPage([ABet(5_00)], null));
        await page.FindAndClickAsync("[data-testid=load-more]");

        page.WaitForAssertion(() => Assert.Equal(2, page.FindAll("[data-testid=my-bet-row]").Count));
        Assert.Empty(page.FindAll("[data-testid=problem]"));
        Assert.Empty(page.FindAll("[data-testid=load-more]"));
    }

    [Fact]
    public async Task A_failed_first_read_says_why_and_offers_to_try_again()
    {
        Bunit.JSInterop.Setup<string?>(PlayerClock.ZoneFunction).SetResult("UTC");
        Gateway.Refuse(BetsPath, 503, "dependency-unavailable");
        var page = Bunit.Render<MyBets>();
        page.WaitForAssertion(() => Assert.Equal("dependency-unavailable", page.Find("[data-testid=problem]").GetAttribute("data-code")));

        Gateway.Answer(BetsPath, new BetPage([ABet(10_00)], null));
        await page.FindAndClickAsync("[data-testid=load-more]");

        page.WaitForAssertion(() => Assert.Single(page.FindAll("[data-testid=my-bet-row]")));
        Assert.Empty(page.FindAll("[data-testid=problem]"));
    }

    private Bet ABet(long stakeMinor) =>
        new(Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), stakeMinor, "accepted", Clock.GetUtcNow(), null, null, null, null);
}
