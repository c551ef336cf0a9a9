using Bunit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using StreamBets.FrontEnd.Auth;
using StreamBets.FrontEnd.Gateway;
using StreamBets.Web.Betting;
using StreamBets.Web.Gateway;
using StreamBets.Web.Live;

namespace StreamBets.Web.Tests;

/// <summary>What the player pages' bUnit tests stand on.</summary>
internal static class PlayerPages
{
    /// <summary>Live updates for a signed-in session, never started: a test hands it pushes as the hub connection would.</summary>
    public static LiveUpdates UnstartedLiveUpdates(UserSession session, TimeProvider time) =>
        new(new LiveHubAddress(new ConfigurationBuilder().Build()), session, time, NullLogger<LiveUpdates>.Instance);

    /// <summary>Live updates for a signed-in session, connected to the stand-in hub listening on <paramref name="port"/>.</summary>
    public static async Task<LiveUpdates> ConnectedLiveUpdatesAsync(UserSession session, int port)
    {
        var address = new LiveHubAddress(new ConfigurationBuilder().AddInMemoryCollection([new("Gateway:Url", $"http://127.0.0.1:{port}")]).Build());
        var live = new LiveUpdates(address, session, TimeProvider.System, NullLogger<LiveUpdates>.Instance);
        await live.EnsureStartedAsync();
        return live;
    }

    /// <summary>
    /// A page's services: its texts, the player's session, gateway client and live updates, the clock, and the browser
    /// tab's storage (a tab of its own unless the test shares one between page contexts).
    /// </summary>
    public static void AddPlayerPage(this BunitContext bunit, GatewayClient client, UserSession session, LiveUpdates live, TimeProvider time, BrowserTab? tab = null)
    {
        bunit.Services.AddLocalization(options => options.ResourcesPath = "Resources");
        bunit.Services.AddSingleton(session);
        bunit.Services.AddSingleton(client);
        bunit.Services.AddSingleton(live);
        bunit.Services.AddSingleton(time);
        bunit.AddPlayerClock();
        (tab ?? new BrowserTab()).OpenIn(bunit);
        bunit.Services.AddScoped<UnansweredRequests>();
    }

    /// <summary>The player's clock, on a browser whose time zone is UTC (a test of the zone scripts another after this).</summary>
    public static void AddPlayerClock(this BunitContext bunit)
    {
        bunit.Services.AddScoped<PlayerClock>();
        bunit.BrowserTimeZone("UTC");
    }

    /// <summary>The time zone the browser answers (bUnit answers with the latest such setup).</summary>
    public static void BrowserTimeZone(this BunitContext bunit, string zone) =>
        bunit.JSInterop.Setup<string?>(PlayerClock.ZoneFunction).SetResult(zone);
}
