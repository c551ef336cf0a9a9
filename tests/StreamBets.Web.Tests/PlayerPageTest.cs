using Bunit;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;
using StreamBets.FrontEnd.Auth;
using StreamBets.Testing;
using StreamBets.Web.Gateway;
using StreamBets.Web.Live;

namespace StreamBets.Web.Tests;

/// <summary>
/// A player page's bUnit test: a signed-in player (tokens in the test Redis), the scripted gateway behind the app's own
/// client, live updates never started (the test hands them pushes as the hub connection would), and the page's clock.
/// </summary>
public abstract class PlayerPageTest : IAsyncLifetime
{
    private IConnectionMultiplexer _redis = null!;

    protected ScriptedGateway Gateway { get; } = new();

    protected BunitContext Bunit { get; } = new();

    protected FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    /// <summary>The clock the pages and live updates run on: <see cref="Clock"/> unless a test class needs real time.</summary>
    protected virtual TimeProvider PageTime => Clock;

    protected GatewayClient Client { get; private set; } = null!;

    protected UserSession Session { get; private set; } = null!;

    /// <summary>The browser tab the pages run in: its session storage outlives a page rendered again on it (a reload).</summary>
    protected BrowserTab Tab { get; } = new();

    protected LiveUpdates Live { get; private set; } = null!;

    /// <summary>Whether the condition comes to hold within 15 s: for what no render tells (a request held, a storage call).</summary>
    protected static Task<bool> SoonAsync(Func<bool> condition) => Eventually.HoldsAsync(() => Task.FromResult(condition()), TimeSpan.FromSeconds(15));

    /// <summary>Whether the condition still holds half a second on (an answer on its way has landed by then).</summary>
    protected static async Task<bool> StaysAsync(Func<bool> condition) =>
        !await Eventually.HoldsAsync(() => Task.FromResult(!condition()), TimeSpan.FromMilliseconds(500));

    public virtual async Task InitializeAsync()
    {
        BunitContext.DefaultWaitTimeout = TimeSpan.FromSeconds(15);
        (Client, Session, _redis) = await Gateway.SignedInAsync();
        Live = PlayerPages.UnstartedLiveUpdates(Session, PageTime);
        Bunit.AddPlayerPage(Client, Session, Live, PageTime, Tab);
    }

    public virtual async Task DisposeAsync()
    {
        await Bunit.DisposeAsync();
        await Live.DisposeAsync();
        await _redis.DisposeAsync();
    }
}
