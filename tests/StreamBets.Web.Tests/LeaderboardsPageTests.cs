using System.Globalization;
using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
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

    /// <summary>
    /// Before, the field's text went to Pools behind "channel:" as typed: "channel:twitch:streamer1" went as
    /// "channel:channel:twitch:streamer1", and a pasted address or "Twitch: streamer1" came back refused.
    /// </summary>
    [Theory]
    [InlineData("twitch:streamer1", "channel:twitch:streamer1")]
    [InlineData("  Twitch: streamer1 ", "channel:twitch:streamer1")]
    [InlineData("channel:twitch:streamer1", "channel:twitch:streamer1")]
    [InlineData("streamer1", "channel:twitch:streamer1")]
    [InlineData("https://twitch.tv/streamer1", "channel:twitch:streamer1")]
    [InlineData("https://www.twitch.tv/streamer1/", "channel:twitch:streamer1")]
    [InlineData("kick.com/streamer_2", "channel:kick:streamer_2")]
    [InlineData("https://www.youtube.com/channel/UCx9b-Q_7Lw", "channel:youtube:UCx9b-Q_7Lw")]
    public async Task A_channel_typed_or_pasted_asks_for_its_board_as_Pools_names_it(string typed, string scope)
    {
        Gateway.Answer(BoardPath, Board("week", "Wes"));
        var page = Bunit.Render<Leaderboards>();
        page.WaitForElement("[data-testid=leaderboard]");

        await page.InvokeAsync(() => page.Find("#lb-scope").Change(typed));
        await page.InvokeAsync(() => page.Find("form").Submit());

        var address = new Uri(Bunit.Services.GetRequiredService<NavigationManager>().Uri);
        Assert.Equal(scope["channel:".Length..], System.Web.HttpUtility.ParseQueryString(address.Query)["channel"]);
        // The board's own address, as a link to it reads it.
        Bunit.Services.GetRequiredService<NavigationManager>().NavigateTo(address.PathAndQuery);
        var linked = Bunit.Render<Leaderboards>();
        Assert.True(await SoonAsync(() => Gateway.Queries(BoardPath).Any(q => q["scope"] == scope)), string.Join(", ", Gateway.Queries(BoardPath).Select(q => q["scope"])));
        Assert.DoesNotContain(Gateway.Queries(BoardPath), q => q["scope"] is not ("global" or null) && q["scope"] != scope);
        linked.WaitForElement("[data-testid=leaderboard]");
    }

    /// <summary>Before, these went to Pools, whose refusal read "Please check the highlighted fields." with nothing highlighted.</summary>
    [Theory]
    [InlineData("twitch:stream er1")]
    [InlineData("https://www.twitch.tv/directory/gaming")]
    [InlineData("https://www.youtube.com/@streamer1")]
    [InlineData("facebook:streamer1")]
    public async Task A_channel_that_is_none_is_refused_by_its_field_in_the_players_language_before_anything_is_sent(string typed)
    {
        CultureInfo.CurrentUICulture = new CultureInfo("pt-BR"); // flows into this test's awaits, and the handlers they run
        Gateway.Answer(BoardPath, Board("week", "Wes"));
        var page = Bunit.Render<Leaderboards>();
        page.WaitForElement("[data-testid=leaderboard]");
        var before = new Uri(Bunit.Services.GetRequiredService<NavigationManager>().Uri);

        await page.InvokeAsync(() => page.Find("#lb-scope").Change(typed));
        await page.InvokeAsync(() => page.Find("form").Submit());

        Assert.StartsWith("Informe o canal como plataforma:id", page.Find("[data-testid=channel-error]").TextContent);
        Assert.Equal("true", page.Find("#lb-scope").GetAttribute("aria-invalid"));
        Assert.Empty(page.FindAll("[data-testid=problem]"));
        Assert.Equal(before, new Uri(Bunit.Services.GetRequiredService<NavigationManager>().Uri));
        Assert.True(await StaysAsync(() => Gateway.Queries(BoardPath).All(q => q["scope"] == "global")));
    }

    [Fact]
    public async Task A_board_address_with_a_channel_that_is_none_says_so_by_the_field_and_asks_nothing()
    {
        Gateway.Answer(BoardPath, Board("week", "Wes"));
        Bunit.Services.GetRequiredService<NavigationManager>().NavigateTo("/leaderboards?channel=twitch%3Astream%20er1");

        var page = Bunit.Render<Leaderboards>();

        page.WaitForElement("[data-testid=channel-error]");
        Assert.Empty(page.FindAll("[aria-busy]"));
        Assert.True(await StaysAsync(() => Gateway.Queries(BoardPath).Count == 0));
    }

    private static Leaderboard Board(string period, string leader) =>
        new("global", period, period, null, null, [new LeaderboardEntry(1, Guid.NewGuid(), 50_00, leader)], null);
}
