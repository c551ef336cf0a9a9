using Bunit;
using StreamBets.FrontEnd;
using StreamBets.Web.Components.Pages;
using StreamBets.Web.Gateway;

namespace StreamBets.Web.Tests;

/// <summary>
/// Every reconnect (Realtime closes a connection as its token expires, every 15 minutes) has My bets read its list
/// again: the rows shown stay until the new read answers, and the pages the player loaded stay loaded.
/// </summary>
public sealed class MyBetsReloadTests : ConnectedPageTest
{
    private const string BetsPath = "/api/bets/mine";

    [Fact]
    public async Task A_reconnect_reads_my_bets_again_without_blanking_the_table_or_dropping_the_pages_loaded()
    {
        Bunit.JSInterop.Setup<string?>(PlayerClock.ZoneFunction).SetResult("UTC");
        // The Bet Engine lists bets by when they were placed, newest first.
        var (a, b, c, d) = (Placed(1_00, minutesAgo: 1), Placed(2_00, minutesAgo: 2), Placed(3_00, minutesAgo: 3), Placed(4_00, minutesAgo: 4));
        Gateway.Answer(BetsPath, new BetPage([a, b], "page-2"));
        Gateway.AnswerPage(BetsPath, "page-2", new BetPage([c, d], null));
        var page = Bunit.Render<MyBets>();
        page.WaitForAssertion(() => Assert.Equal(2, page.FindAll("[data-testid=my-bet-row]").Count));
        await page.FindAndClickAsync("[data-testid=load-more]");
        page.WaitForAssertion(() => Assert.Equal(4, page.FindAll("[data-testid=my-bet-row]").Count));

        // The connection closes; its reconnect ends in ReloadNeeded, whose read is slow to answer.
        var release = Gateway.Hold(BetsPath);
        Hub.DropConnections();
        Assert.True(await SoonAsync(() => Gateway.Requests.Count(p => p == BetsPath) == 3));

        Assert.True(await StaysAsync(() => Stakes(page).SequenceEqual(Shown)), page.Markup);
        Assert.DoesNotContain("aria-busy", page.Markup);
        release();

        // The list read again from the start as far as the rows shown reach: both pages, each row once.
        Assert.True(await SoonAsync(() => Gateway.Requests.Count(p => p == BetsPath) == 4));
        Assert.True(await StaysAsync(() => Stakes(page).SequenceEqual(Shown)), page.Markup);
        Assert.Empty(page.FindAll("[data-testid=load-more]"));
    }

    [Fact]
    public async Task A_bet_placed_since_the_list_was_read_joins_it_on_a_reconnect_and_every_row_loaded_after_it_stays()
    {
        Bunit.JSInterop.Setup<string?>(PlayerClock.ZoneFunction).SetResult("UTC");
        var (a, b, c, d) = (Placed(1_00, minutesAgo: 1), Placed(2_00, minutesAgo: 2), Placed(3_00, minutesAgo: 3), Placed(4_00, minutesAgo: 4));
        Gateway.Answer(BetsPath, new BetPage([a, b], "page-2"));
        Gateway.AnswerPage(BetsPath, "page-2", new BetPage([c, d], null));
        var page = Bunit.Render<MyBets>();
        page.WaitForAssertion(() => Assert.Equal(2, page.FindAll("[data-testid=my-bet-row]").Count));
        await page.FindAndClickAsync("[data-testid=load-more]");
        page.WaitForAssertion(() => Assert.Equal(4, page.FindAll("[data-testid=my-bet-row]").Count));

        // A new bet moves every row one place down the pages: reading as many rows as were shown would stop before d.
        var placed = Placed(5_00, minutesAgo: 0);
        Gateway.Answer(BetsPath, new BetPage([placed, a], "page-2"));
        Gateway.AnswerPage(BetsPath, "page-2", new BetPage([b, c], "page-3"));
        Gateway.AnswerPage(BetsPath, "page-3", new BetPage([d], null));
        Hub.DropConnections();

        string[] all = [Money.Format(5_00), .. Shown];
        Assert.True(await SoonAsync(() => Stakes(page).SequenceEqual(all)), page.Markup);
        Assert.True(await StaysAsync(() => Stakes(page).SequenceEqual(all)), page.Markup);
        Assert.Empty(page.FindAll("[data-testid=load-more]"));
    }

    // The four bets' stakes, in the order loaded.
    private static readonly string[] Shown = [Money.Format(1_00), Money.Format(2_00), Money.Format(3_00), Money.Format(4_00)];

    private static List<string> Stakes(IRenderedComponent<MyBets> page) =>
        [.. page.FindAll("[data-testid=my-bet-row] td.num").Select(cell => cell.TextContent.Trim())];

    private Bet Placed(long stakeMinor, int minutesAgo) =>
        new(Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), stakeMinor, "accepted", Clock.GetUtcNow().AddMinutes(-minutesAgo), null, null, null, null);
}
