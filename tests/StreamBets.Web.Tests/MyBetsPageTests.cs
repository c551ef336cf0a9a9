using System.Text.Json;
using Bunit;
using StreamBets.FrontEnd;
using StreamBets.Web.Components.Pages;
using StreamBets.Web.Gateway;
using StreamBets.Web.Live;

namespace StreamBets.Web.Tests;

/// <summary>
/// The player's bets page says there are none only once the list has answered, and keeps every result pushed to it:
/// Realtime and the Bet Engine follow each settlement separately, so the list read again may not have it yet.
/// </summary>
public sealed class MyBetsPageTests : PlayerPageTest
{
    private const string BetsPath = "/api/bets/mine";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

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

    [Fact]
    public async Task A_pushed_result_stays_on_its_row_when_the_list_read_again_does_not_have_it_yet()
    {
        Bunit.JSInterop.Setup<string?>(PlayerClock.ZoneFunction).SetResult("UTC");
        var shown = ABet(10_00);
        Gateway.Answer(BetsPath, new BetPage([shown], null));
        var page = Bunit.Render<MyBets>();
        page.WaitForAssertion(() => Assert.Contains("Accepted", page.Find("[data-testid=my-bet-row]").TextContent));

        // Two bets are paid at once, one not on the page: it is no longer open, so the Open tab has nothing to read for it.
        Push(Settled(shown, "won", 18_00, sequence: 1));
        Push(Settled(ABet(5_00), "lost", 0, sequence: 2));
        Assert.True(await SoonAsync(() =>
        {
            Clock.Advance(PushBurst<BetSettledMessage>.Window);
            return page.FindAll("[data-testid=my-bet-row]").Any(row => row.TextContent.Contains("Won"));
        }));
        Assert.True(await StaysAsync(() => Gateway.Requests.Count(p => p == BetsPath) == 1));

        // The list read again (Settled, then Open again), before the Bet Engine has the results.
        await page.FindAndClickAsync(".tabs button:last-child");
        await page.FindAndClickAsync(".tabs button:first-child");
        Assert.True(await SoonAsync(() => Gateway.Requests.Count(p => p == BetsPath) == 3));
        await Task.Delay(200); // the read's answer, on its way to the page

        page.WaitForAssertion(() => Assert.Contains("Won", page.Find("[data-testid=my-bet-row]").TextContent));
        Assert.Contains(Money.Format(18_00), page.Find("[data-testid=my-bet-row]").TextContent);
    }

    [Fact]
    public async Task A_bet_settled_by_push_joins_the_settled_pages_loaded_without_dropping_any()
    {
        Bunit.JSInterop.Setup<string?>(PlayerClock.ZoneFunction).SetResult("UTC");
        // The Bet Engine lists bets by when they were placed, newest first.
        var first = new[] { Placed(SettledBet(10_00), minutesAgo: 1), Placed(SettledBet(9_00), minutesAgo: 2) };
        var second = Placed(SettledBet(5_00), minutesAgo: 3);
        Gateway.Answer(BetsPath, new BetPage(first, "page-2"));
        Gateway.AnswerPage(BetsPath, "page-2", new BetPage([second], "page-3"));
        var page = Bunit.Render<MyBets>();
        page.WaitForAssertion(() => Assert.Equal(2, page.FindAll("[data-testid=my-bet-row]").Count));
        await page.FindAndClickAsync(".tabs button:last-child"); // Settled
        page.WaitForAssertion(() => Assert.Equal(2, Gateway.Requests.Count(p => p == BetsPath)));
        await page.FindAndClickAsync("[data-testid=load-more]");
        page.WaitForAssertion(() => Assert.Equal(3, page.FindAll("[data-testid=my-bet-row]").Count));

        // A bet of another pool, placed last, is paid; the Bet Engine has it at the top of the first page already.
        var paid = Placed(ABet(2_00), minutesAgo: 0);
        Gateway.Answer(BetsPath, new BetPage([paid with { SettledResult = "won", PayoutMinor = 3_00, SettledAt = Clock.GetUtcNow() }, first[0]], "page-1b"));
        Push(Settled(paid, "won", 3_00, sequence: 1));
        Assert.True(await SoonAsync(() =>
        {
            Clock.Advance(PushBurst<BetSettledMessage>.Window);
            return page.FindAll("[data-testid=my-bet-row]").Count == 4;
        }));

        var rows = page.FindAll("[data-testid=my-bet-row]").Select(r => r.TextContent).ToArray();
        Assert.Contains(Money.Format(2_00), rows[0]);
        Assert.Contains(Money.Format(10_00), rows[1]);
        Assert.Contains(Money.Format(9_00), rows[2]);
        Assert.Contains(Money.Format(5_00), rows[3]);
        // The list goes on from the last page loaded, not from the first page read again.
        Gateway.AnswerPage(BetsPath, "page-3", new BetPage([Placed(SettledBet(1_00), minutesAgo: 4)], null));
        await page.FindAndClickAsync("[data-testid=load-more]");
        page.WaitForAssertion(() => Assert.Equal(5, page.FindAll("[data-testid=my-bet-row]").Count));
        Assert.Contains(Money.Format(1_00), page.FindAll("[data-testid=my-bet-row]")[4].TextContent);
        Assert.Empty(page.FindAll("[data-testid=load-more]"));
    }

    [Fact]
    public async Task A_bet_settled_by_push_takes_its_place_among_the_settled_pages_loaded_in_the_bet_engines_order()
    {
        Bunit.JSInterop.Setup<string?>(PlayerClock.ZoneFunction).SetResult("UTC");
        // The Bet Engine lists every tab by when the bets were placed, newest first (not by when they were settled).
        var first = new[] { Placed(SettledBet(10_00), minutesAgo: 10), Placed(SettledBet(9_00), minutesAgo: 20) };
        var second = new[] { Placed(SettledBet(8_00), minutesAgo: 30), Placed(SettledBet(7_00), minutesAgo: 50) };
        Gateway.Answer(BetsPath, new BetPage(first, "page-2"));
        Gateway.AnswerPage(BetsPath, "page-2", new BetPage(second, "page-3"));
        var page = Bunit.Render<MyBets>();
        page.WaitForAssertion(() => Assert.Equal(2, page.FindAll("[data-testid=my-bet-row]").Count));
        await page.FindAndClickAsync(".tabs button:last-child"); // Settled
        page.WaitForAssertion(() => Assert.Equal(2, Gateway.Requests.Count(p => p == BetsPath)));
        await page.FindAndClickAsync("[data-testid=load-more]");
        page.WaitForAssertion(() => Assert.Equal(4, page.FindAll("[data-testid=my-bet-row]").Count));

        // Three bets are paid: one placed between the first page's bets (the first page read again has it), one placed
        // between the second page's (not on the first page: read alone, before the Bet Engine wrote its settlement), and
        // one placed before every bet loaded (left for Load more, whose cursor has not passed it).
        var onFirstPage = Placed(ABet(6_00), minutesAgo: 15);
        var onSecondPage = Placed(ABet(4_00), minutesAgo: 40);
        var further = Placed(ABet(3_00), minutesAgo: 60);
        Gateway.Answer(BetsPath, new BetPage([first[0], onFirstPage with { SettledResult = "lost", PayoutMinor = 0, SettledAt = Clock.GetUtcNow() }, first[1]], "page-2b"));
        Gateway.Answer($"/api/bets/{onSecondPage.BetId}", onSecondPage);
        Gateway.Answer($"/api/bets/{further.BetId}", further);
        Push(Settled(onFirstPage, "lost", 0, sequence: 1));
        Push(Settled(onSecondPage, "won", 11_00, sequence: 2));
        Push(Settled(further, "lost", 0, sequence: 3));
        Assert.True(await SoonAsync(() =>
        {
            Clock.Advance(PushBurst<BetSettledMessage>.Window);
            return page.FindAll("[data-testid=my-bet-row]").Count == 6;
        }));

        string[] Stakes() => [.. page.FindAll("[data-testid=my-bet-row] td.num").Select(cell => cell.TextContent)];
        Assert.Equal([Money.Format(10_00), Money.Format(6_00), Money.Format(9_00), Money.Format(8_00), Money.Format(4_00), Money.Format(7_00)], Stakes());
        Assert.Contains("Won", page.FindAll("[data-testid=my-bet-row]")[4].TextContent);
        Assert.True(await StaysAsync(() => page.FindAll("[data-testid=my-bet-row]").Count == 6));

        // Load more goes on after the last row loaded, and brings the older bet in once, at the end.
        Gateway.AnswerPage(BetsPath, "page-3", new BetPage([further with { SettledResult = "lost", PayoutMinor = 0, SettledAt = Clock.GetUtcNow() }], null));
        await page.FindAndClickAsync("[data-testid=load-more]");
        page.WaitForAssertion(() => Assert.Equal(7, page.FindAll("[data-testid=my-bet-row]").Count));
        Assert.Equal(Money.Format(3_00), Stakes()[6]);
    }

    [Fact]
    public async Task A_bet_settled_by_push_shows_on_the_settled_tab_once_the_bet_engine_has_it()
    {
        Bunit.JSInterop.Setup<string?>(PlayerClock.ZoneFunction).SetResult("UTC");
        var bet = ABet(10_00);
        Gateway.Answer(BetsPath, new BetPage([], null));
        var page = Bunit.Render<MyBets>();
        page.WaitForAssertion(() => Assert.Single(page.FindAll(".empty")));
        await page.FindAndClickAsync(".tabs button:last-child"); // Settled
        page.WaitForAssertion(() => Assert.Equal(2, Gateway.Requests.Count(p => p == BetsPath)));

        // Read again at once, before the Bet Engine wrote the settlement: the list has not got it.
        Push(Settled(bet, "won", 18_00, sequence: 1));
        Assert.True(await SoonAsync(() =>
        {
            Clock.Advance(PushBurst<BetSettledMessage>.Window);
            return Gateway.Requests.Count(p => p == BetsPath) == 3;
        }));
        Gateway.Answer(BetsPath, new BetPage([bet with { SettledResult = "won", PayoutMinor = 18_00, SettledAt = Clock.GetUtcNow() }], null));

        // A moment later it has.
        Assert.True(await SoonAsync(() =>
        {
            Clock.Advance(TimeSpan.FromSeconds(1));
            return page.FindAll("[data-testid=my-bet-row]").Count == 1;
        }));
        Assert.Contains("Won", page.Find("[data-testid=my-bet-row]").TextContent);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_page_loaded_while_the_settled_tab_waits_for_a_pushed_bet_stays_shown(bool pageStillOnItsWay)
    {
        Bunit.JSInterop.Setup<string?>(PlayerClock.ZoneFunction).SetResult("UTC");
        var firstPage = ABet(10_00) with { SettledResult = "lost", PayoutMinor = 0 };
        var secondPage = ABet(5_00) with { SettledResult = "won", PayoutMinor = 9_00 };
        Gateway.Answer(BetsPath, new BetPage([firstPage], "page-2"));
        Gateway.AnswerPage(BetsPath, "page-2", new BetPage([secondPage], null));
        var page = Bunit.Render<MyBets>();
        page.WaitForAssertion(() => Assert.Single(page.FindAll("[data-testid=my-bet-row]")));
        await page.FindAndClickAsync(".tabs button:last-child"); // Settled
        page.WaitForAssertion(() => Assert.Equal(2, Gateway.Requests.Count(p => p == BetsPath)));

        // A bet the list does not return (the Bet Engine has not written it yet, or it is further down): read again.
        Push(Settled(ABet(2_00), "won", 3_00, sequence: 1));
        Assert.True(await SoonAsync(() =>
        {
            Clock.Advance(PushBurst<BetSettledMessage>.Window);
            return Gateway.Requests.Count(p => p == BetsPath) == 3;
        }));
        page.WaitForAssertion(() => Assert.Single(page.FindAll("[data-testid=my-bet-row]")));

        // Within the first second the player loads the next page (its answer maybe still on its way), then every
        // re-read's time passes.
        var releasePage = pageStillOnItsWay ? Gateway.Hold(BetsPath) : () => { };
        var loadingMore = page.FindAndClickAsync("[data-testid=load-more]");
        Assert.True(await SoonAsync(() => Gateway.Requests.Count(p => p == BetsPath) == 4)); // held: no render tells
        if (!pageStillOnItsWay)
        {
            page.WaitForAssertion(() => Assert.Equal(2, page.FindAll("[data-testid=my-bet-row]").Count));
        }
        for (var second = 0; second < 16; second++)
        {
            Clock.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(100); // a re-read, if one were sent, on its way to the page
        }
        releasePage();
        await loadingMore;

        page.WaitForAssertion(() => Assert.Equal(2, page.FindAll("[data-testid=my-bet-row]").Count));
        Assert.Contains(Money.Format(5_00), page.FindAll("[data-testid=my-bet-row]")[1].TextContent);
        Assert.Equal(4, Gateway.Requests.Count(p => p == BetsPath));
    }

    /// <summary>
    /// Before, the Open tab's read ended its loading when its pool titles answered, though the player had switched tabs:
    /// the Settled tab said "You have no settled bets" until its own read answered.
    /// </summary>
    [Fact]
    public async Task A_tab_switched_to_while_the_last_tabs_pool_titles_load_says_loading_until_its_own_read_answers()
    {
        Bunit.JSInterop.Setup<string?>(PlayerClock.ZoneFunction).SetResult("UTC");
        Gateway.Answer(BetsPath, new BetPage([ABet(10_00)], null));
        Gateway.Answer("/api/pools", Array.Empty<Pool>());
        var releaseTitles = Gateway.Hold("/api/pools");
        var page = Bunit.Render<MyBets>();
        Assert.True(await SoonAsync(() => Gateway.Requests.Contains("/api/pools")));

        Gateway.Answer(BetsPath, new BetPage([], null));
        var releaseSettled = Gateway.HoldNext(BetsPath);
        var switching = page.FindAndClickAsync(".tabs button:last-child"); // Settled
        Assert.True(await SoonAsync(() => Gateway.Requests.Count(p => p == BetsPath) == 2)); // held: no render tells
        releaseTitles();

        Assert.True(await StaysAsync(() => page.FindAll(".empty").Count == 0), page.Markup);
        page.WaitForAssertion(() => Assert.Single(page.FindAll("[aria-busy=true]")));
        releaseSettled();
        await switching;
        page.WaitForAssertion(() => Assert.Single(page.FindAll(".empty")));
    }

    private void Push(BetSettledMessage settled) => Live.Receive("BetSettled", JsonSerializer.SerializeToElement(settled, Json));

    private BetSettledMessage Settled(Bet bet, string result, long payoutMinor, long sequence) =>
        new(bet.BetId, bet.PoolId, result, bet.StakeMinor, payoutMinor, Clock.GetUtcNow()) { Stream = "user", Sequence = sequence };

    private Bet Placed(Bet bet, int minutesAgo) => bet with { PlacedAt = Clock.GetUtcNow().AddMinutes(-minutesAgo) };

    private Bet SettledBet(long stakeMinor) => ABet(stakeMinor) with { SettledResult = "lost", PayoutMinor = 0, SettledAt = Clock.GetUtcNow() };

    private Bet ABet(long stakeMinor) =>
        new(Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), stakeMinor, "accepted", Clock.GetUtcNow(), null, null, null, null);
}
