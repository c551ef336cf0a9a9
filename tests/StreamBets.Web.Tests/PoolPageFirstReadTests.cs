using Bunit;
using Microsoft.Extensions.DependencyInjection;
using StreamBets.Web.Components.Pages;
using StreamBets.Web.Gateway;
using StreamBets.Web.Live;

namespace StreamBets.Web.Tests;

/// <summary>A pool page whose first read failed (rate limited, a service away) reads the pool again until it shows.</summary>
public sealed class PoolPageFirstReadTests : PlayerPageTest
{
    [Fact]
    public async Task A_pool_page_whose_first_read_failed_shows_the_pool_once_a_later_read_answers()
    {
        var pool = OpenPool();
        var path = $"/api/pools/{pool.Id}";
        Gateway.Refuse(path, 503, "dependency-unavailable");
        Gateway.Answer("/api/bets/mine", new BetPage([], null));
        var page = RenderPoolPage(pool.Id);
        page.WaitForAssertion(() => Assert.Equal("dependency-unavailable", page.Find("[data-testid=problem]").GetAttribute("data-code")));

        Gateway.Answer(path, pool);
        // The page's poll, every 3 s: the clock moves on until a read comes of it.
        Assert.True(await SoonAsync(() =>
        {
            Clock.Advance(TimeSpan.FromSeconds(3));
            return Gateway.Requests.Count(r => r == path) >= 2;
        }));

        page.WaitForAssertion(() => Assert.Equal("open", page.Find("[data-testid=pool-state]").GetAttribute("data-state")));
        Assert.Equal([pool.Id], Live.WatchedPools);
    }

    [Fact]
    public async Task A_pool_page_for_no_such_pool_stops_reading_it()
    {
        var poolId = Guid.NewGuid();
        Gateway.Refuse($"/api/pools/{poolId}", 404, "pool-not-found");
        var page = RenderPoolPage(poolId);
        page.WaitForAssertion(() => Assert.Equal("pool-not-found", page.Find("[data-testid=problem]").GetAttribute("data-code")));

        // Each move of the clock is a poll's time (every 3 s): none reads.
        Assert.True(await StaysAsync(() =>
        {
            Clock.Advance(TimeSpan.FromSeconds(3));
            return Gateway.Requests.Count(r => r == $"/api/pools/{poolId}") == 1;
        }), "The page read the pool again.");
        Assert.Empty(Live.WatchedPools);
    }

    [Fact]
    public async Task A_pool_page_whose_retried_read_finds_no_such_pool_stops_reading_it()
    {
        var poolId = Guid.NewGuid();
        var path = $"/api/pools/{poolId}";
        Gateway.Refuse(path, 503, "dependency-unavailable");
        var page = RenderPoolPage(poolId);
        page.WaitForAssertion(() => Assert.Equal("dependency-unavailable", page.Find("[data-testid=problem]").GetAttribute("data-code")));

        Gateway.Refuse(path, 404, "pool-not-found");
        Assert.True(await SoonAsync(() =>
        {
            Clock.Advance(TimeSpan.FromSeconds(3));
            return Gateway.Requests.Count(r => r == path) >= 2;
        }));
        page.WaitForAssertion(() => Assert.Equal("pool-not-found", page.Find("[data-testid=problem]").GetAttribute("data-code")));
        // Polls the clock's last moves started may still read: counted once they have stopped coming.
        int reads;
        do
        {
            reads = Gateway.Requests.Count(r => r == path);
        }
        while (!await StaysAsync(() => Gateway.Requests.Count(r => r == path) == reads));

        Assert.True(await StaysAsync(() =>
        {
            Clock.Advance(TimeSpan.FromSeconds(3));
            return Gateway.Requests.Count(r => r == path) == reads;
        }), "The page read the pool again.");
        Assert.Empty(Live.WatchedPools);
    }

    private IRenderedComponent<PoolPage> RenderPoolPage(Guid poolId)
    {
        Bunit.JSInterop.Mode = JSRuntimeMode.Loose;
        Bunit.AddAuthorization().SetAuthorized("Ana"); // the chat beside the pool
        Bunit.Services.AddSingleton(new WalletState(Client, Live, PageTime));
        return Bunit.Render<PoolPage>(parameters => parameters.Add(p => p.PoolId, poolId));
    }

    private Pool OpenPool() => new(
        Guid.NewGuid(), new PoolChannel("twitch", "streamer1"), Guid.NewGuid(), "Who wins?", "open", true,
        [new PoolOutcome(Guid.NewGuid(), "Yes", 0, 0, null), new PoolOutcome(Guid.NewGuid(), "No", 0, 0, null)], 0, 1_00, 1_000_00, 500, 60,
        Clock.GetUtcNow(), Clock.GetUtcNow(), Clock.GetUtcNow().AddHours(1), null, null, [], null, null, null, 1);
}
