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
        Thread.Sleep(100);
        Clock.Advance(TimeSpan.FromSeconds(1));

        page.WaitForAssertion(() => Assert.True(Gateway.Requests.Count(p => p == "/api/bets/mine") >= 3));
        Thread.Sleep(200); // nothing more comes
        Assert.Equal(3, Gateway.Requests.Count(p => p == "/api/bets/mine"));
    }
}
