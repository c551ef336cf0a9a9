using System.Text.Json;
using Bunit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;
using StreamBets.Web.Components.Pages;
using StreamBets.Web.Gateway;
using StreamBets.Web.Live;

namespace StreamBets.Web.Tests;

/// <summary>
/// A burst of settlements (a player's many bets paid at once) costs one read, not one per bet: each would count against
/// the player's gateway budget, and the next bet would be refused 429.
/// </summary>
public sealed class SettlementBurstTests : IAsyncLifetime
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly ScriptedGateway _gateway = new();
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private readonly BunitContext _bunit = new();
    private IConnectionMultiplexer _redis = null!;
    private LiveUpdates _live = null!;

    public async Task InitializeAsync()
    {
        BunitContext.DefaultWaitTimeout = TimeSpan.FromSeconds(15);
        (var client, var session, _redis) = await _gateway.SignedInAsync();
        _live = PlayerPages.UnstartedLiveUpdates(session, _clock);
        _bunit.AddPlayerPage(client, _live, _clock);
    }

    public async Task DisposeAsync()
    {
        await _bunit.DisposeAsync();
        await _live.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [Fact]
    public void My_bets_read_once_for_a_burst_of_settlements_it_does_not_show()
    {
        _gateway.Answer("/api/bets/mine", new BetPage([], null));
        var page = _bunit.Render<MyBets>();
        page.WaitForAssertion(() => Assert.Single(_gateway.Requests, "/api/bets/mine"));

        for (var bet = 0; bet < 20; bet++)
        {
            var settled = new BetSettledMessage(Guid.NewGuid(), Guid.NewGuid(), "won", 5_00, 9_00, _clock.GetUtcNow()) { Stream = "user", Sequence = bet + 1 };
            _live.Receive("BetSettled", JsonSerializer.SerializeToElement(settled, Json));
        }
        Thread.Sleep(100);
        _clock.Advance(TimeSpan.FromSeconds(1));

        page.WaitForAssertion(() => Assert.True(_gateway.Requests.Count(p => p == "/api/bets/mine") >= 2));
        Thread.Sleep(200); // nothing more comes
        Assert.Equal(2, _gateway.Requests.Count(p => p == "/api/bets/mine"));
    }
}
