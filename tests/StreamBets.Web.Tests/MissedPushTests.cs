using Bunit;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using StreamBets.Web.Components.Pages;
using StreamBets.Web.Gateway;
using StreamBets.Web.Live;

namespace StreamBets.Web.Tests;

/// <summary>A page whose pushes were lost while the hub was out of reach reads again once it is back, without a reload.</summary>
public sealed class MissedPushTests : IAsyncLifetime
{
    private readonly ScriptedGateway _gateway = new();
    private readonly BunitContext _bunit = new();
    private StandInHub _hub = null!;
    private LiveUpdates _live = null!;
    private IConnectionMultiplexer _redis = null!;

    public async Task InitializeAsync()
    {
        BunitContext.DefaultWaitTimeout = TimeSpan.FromSeconds(15);
        var port = StreamBets.Testing.InProcessServices.FreePort();
        _hub = await StandInHub.StartAsync(port);
        (var client, var session, _redis) = await _gateway.SignedInAsync();
        _live = await PlayerPages.ConnectedLiveUpdatesAsync(session, port);
        _bunit.AddPlayerPage(client, session, _live, TimeProvider.System);
    }

    public async Task DisposeAsync()
    {
        await _bunit.DisposeAsync();
        await _live.DisposeAsync();
        await _hub.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [Fact]
    public void My_bets_settled_while_the_hub_was_out_of_reach_show_their_result_once_it_is_back()
    {
        var bet = new Bet(Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), 5_00, "accepted", DateTimeOffset.UtcNow, null, null, null, null);
        _gateway.Answer("/api/bets/mine", new BetPage([bet], null));
        var page = _bunit.Render<MyBets>();
        page.WaitForAssertion(() => Assert.Contains("Accepted", page.Find("[data-testid=my-bet-row]").TextContent));

        // Settled while the connection was down: its BetSettled push reached nobody.
        _gateway.Answer("/api/bets/mine", new BetPage([bet with { SettledResult = "won", PayoutMinor = 9_00, SettledAt = DateTimeOffset.UtcNow }], null));
        _hub.DropConnections();

        page.WaitForAssertion(() => Assert.Contains("Won", page.Find("[data-testid=my-bet-row]").TextContent));
    }
}
