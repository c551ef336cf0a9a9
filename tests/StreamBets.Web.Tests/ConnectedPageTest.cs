using Bunit;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;
using StreamBets.Testing;
using StreamBets.Web.Gateway;
using StreamBets.Web.Live;

namespace StreamBets.Web.Tests;

/// <summary>
/// A page's bUnit test with the hub live: a signed-in player, the scripted gateway, live updates connected to the
/// stand-in hub, and pages on a clock the test moves (the hub connection keeps real time).
/// </summary>
public abstract class ConnectedPageTest : IAsyncLifetime
{
    private IConnectionMultiplexer _redis = null!;

    protected ScriptedGateway Gateway { get; } = new();

    protected BunitContext Bunit { get; } = new();

    protected FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    /// <summary>The clock the pages run on: <see cref="Clock"/> unless a test class needs real time.</summary>
    protected virtual TimeProvider PageTime => Clock;

    protected StandInHub Hub { get; private set; } = null!;

    protected GatewayClient Client { get; private set; } = null!;

    protected LiveUpdates Live { get; private set; } = null!;

    /// <summary>The browser tab the pages run in: its session storage outlives a page rendered again on it.</summary>
    protected BrowserTab Tab { get; } = new();

    /// <summary>Whether the condition comes to hold within 15 s: for what no render tells (a hub call, a request).</summary>
    protected static Task<bool> SoonAsync(Func<bool> condition) => Eventually.HoldsAsync(() => Task.FromResult(condition()), TimeSpan.FromSeconds(15));

    /// <summary>Whether the condition holds all along for half a second (a call on its way has been made by then).</summary>
    protected static async Task<bool> StaysAsync(Func<bool> condition) =>
        !await Eventually.HoldsAsync(() => Task.FromResult(!condition()), TimeSpan.FromMilliseconds(500));

    public async Task InitializeAsync()
    {
        BunitContext.DefaultWaitTimeout = TimeSpan.FromSeconds(15);
        var port = StreamBets.Testing.InProcessServices.FreePort();
        Hub = await StandInHub.StartAsync(port);
        (Client, var session, _redis) = await Gateway.SignedInAsync();
        Live = await PlayerPages.ConnectedLiveUpdatesAsync(session, port);
        Bunit.AddPlayerPage(Client, session, Live, PageTime, Tab);
        Bunit.AddAuthorization().SetAuthorized("Ana");
    }

    public async Task DisposeAsync()
    {
        await Bunit.DisposeAsync();
        await Live.DisposeAsync();
        await Hub.DisposeAsync();
        await _redis.DisposeAsync();
    }
}
