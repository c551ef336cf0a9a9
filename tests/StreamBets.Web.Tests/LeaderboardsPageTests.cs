using System.Globalization;
using Bunit;
using StreamBets.Web.Components.Pages;
using StreamBets.Web.Gateway;

namespace StreamBets.Web.Tests;

/// <summary>
/// Pools' "today" and "this week" are UTC days and weeks: the board says when its window begins and ends on the player's
/// own clock, so a player in São Paulo reads that "today" ends at 21:00.
/// </summary>
public sealed class LeaderboardsPageTests : PlayerPageTest
{
    private const string BoardPath = "/api/pools/leaderboards";

    [Fact]
    public void Todays_board_shows_its_UTC_day_in_the_players_time()
    {
        Bunit.BrowserTimeZone("America/Sao_Paulo"); // UTC-3 all year since 2019
        var day = new DateOnly(2026, 3, 15);
        Gateway.Answer(BoardPath, new Leaderboard("global", "day", "2026-03-15", day, day, [new LeaderboardEntry(1, Guid.NewGuid(), 50_00, "Bia")], null));

        var page = Bunit.Render<Leaderboards>();

        var from = new DateTime(2026, 3, 14, 21, 0, 0).ToString("g", CultureInfo.CurrentCulture);
        var to = new DateTime(2026, 3, 15, 21, 0, 0).ToString("g", CultureInfo.CurrentCulture);
        page.WaitForAssertion(() => Assert.Equal($"This board counts bets settled from {from} to {to} (your time).", page.Find("[data-testid=board-window]").TextContent));
    }

    [Fact]
    public void The_all_time_board_has_no_window_to_show()
    {
        Gateway.Answer(BoardPath, new Leaderboard("global", "all", "all", null, null, [new LeaderboardEntry(1, Guid.NewGuid(), 50_00, "Bia")], null));

        var page = Bunit.Render<Leaderboards>();

        page.WaitForElement("[data-testid=leaderboard]");
        Assert.Empty(page.FindAll("[data-testid=board-window]"));
    }

    [Fact]
    public async Task A_slow_answer_for_an_earlier_period_does_not_replace_the_board_chosen_after_it()
    {
        Gateway.Answer(BoardPath, Board("week", "Wes"));
        var weekAnswer = Gateway.HoldNext(BoardPath);
        var page = Bunit.Render<Leaderboards>(); // this week's board, the default
        Assert.True(await SoonAsync(() => Gateway.Requests.Count(r => r == BoardPath) == 1));

        // The player moves on to "All" while Week's board is still on its way; All answers first.
        Gateway.Answer(BoardPath, Board("all", "Alba"));
        page.Find("#lb-period").Change("all");
        page.Find("form").Submit();
        page.WaitForAssertion(() => Assert.Contains("Alba", page.Find("[data-testid=leaderboard]").TextContent));

        weekAnswer();

        Assert.True(await StaysAsync(() => page.Find("[data-testid=leaderboard]").TextContent.Contains("Alba")), "Week's board replaced All's");
    }

    private static Leaderboard Board(string period, string leader) =>
        new("global", period, period, null, null, [new LeaderboardEntry(1, Guid.NewGuid(), 50_00, leader)], null);
}
