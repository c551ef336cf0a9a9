using System.Text.Json;
using Bunit;
using Microsoft.Extensions.DependencyInjection;
using StreamBets.Web.Components.Pages;
using StreamBets.Web.Gateway;
using StreamBets.Web.Live;

namespace StreamBets.Web.Tests;

/// <summary>
/// A burst of settlements (a player's many bets paid at once) costs one read, not one per bet: each would count against
/// the player's gateway budget, and the next bet would be refused 429.
/// </summary>
public sealed class SettlementBurstTests : PlayerPageTest
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    [Fact]
    public async Task My_bets_read_once_for_a_burst_of_settlements_it_does_not_show()
    {
        Gateway.Answer("/api/bets/mine", new BetPage([], null));
        var page = Bunit.Render<MyBets>();
        page.WaitForAssertion(() => Assert.Single(Gateway.Requests, "/api/bets/mine"));
        // The Settled tab reads for bets settled out of its view (the Open tab has nothing to add for them).
        await page.FindAndClickAsync(".tabs button:last-child");
        page.WaitForAssertion(() => Assert.Equal(2, Gateway.Requests.Count(p => p == "/api/bets/mine")));

        for (var bet = 0; bet < 20; bet++)
        {
            var settled = new BetSettledMessage(Guid.NewGuid(), Guid.NewGuid(), "won", 5_00, 9_00, Clock.GetUtcNow()) { Stream = "user", Sequence = bet + 1 };
            Live.Receive("BetSettled", JsonSerializer.SerializeToElement(settled, Json));
        }
        // The pushes wait their turn on the page's dispatcher: once this turn comes, all are gathered and the window is set.
        await page.InvokeAsync(() => { });
        Clock.Advance(PushBurst<BetSettledMessage>.Window);
        Assert.True(await SoonAsync(() => Reads() >= 3), "The burst was not read.");

        // Nothing more within another window or so: less than the 1 s the Settled tab waits to read again for bets still
        // missing, which starts only once the burst's read has answered.
        for (var step = 0; step < 9; step++)
        {
            Clock.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Delay(20);
        }
        Assert.True(await StaysAsync(() => Reads() == 3), $"{Reads()} reads of the list, not 3.");
    }

    private int Reads() => Gateway.Requests.Count(p => p == "/api/bets/mine");
}
