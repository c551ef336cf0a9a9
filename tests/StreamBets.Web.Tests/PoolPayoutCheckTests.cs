using Bunit;
using Microsoft.Extensions.DependencyInjection;
using StreamBets.Web.Components.Pages;
using StreamBets.Web.Gateway;
using StreamBets.Web.Live;

namespace StreamBets.Web.Tests;

/// <summary>
/// The pool page with the hub live reads a finished pool's payout again until it shows (its push may have come before
/// the page watched): promptly at first, then less often, since a payout stopped for an operator can stay so for hours and
/// every viewer of the pool reads it.
/// </summary>
public sealed class PoolPayoutCheckTests : ConnectedPageTest
{
    private const string MyBetsPath = "/api/bets/mine";
    private readonly Guid _yes = Guid.NewGuid();
    private readonly Guid _no = Guid.NewGuid();

    /// <summary>Before, the page read the pool and all the player's bets on it every 3 s: 200 times each in 10 minutes.</summary>
    [Fact]
    public async Task A_stopped_payout_is_read_again_less_and_less_often_not_every_3_seconds()
    {
        var pool = ResolvedPool();
        Gateway.Answer(PoolPath(pool), pool);
        Gateway.Answer(MyBetsPath, new BetPage([UnsettledBet(pool)], null));
        var page = RenderPoolPage(pool);
        await FirstReadsDoneAsync(page);

        for (var waited = TimeSpan.Zero; waited < TimeSpan.FromMinutes(10); waited += TimeSpan.FromSeconds(3))
        {
            Clock.Advance(TimeSpan.FromSeconds(3));
            await Task.Delay(10); // the poll runs (and reads) before the clock moves on
        }

        Assert.True(await StaysAsync(() => Reads(PoolPath(pool)) <= 30 && Reads(MyBetsPath) <= 30),
            $"Pool read {Reads(PoolPath(pool))} times, bets {Reads(MyBetsPath)} times in 10 minutes.");
        Assert.True(Reads(PoolPath(pool)) >= 10, "The page stopped reading the payout."); // every 30 s at the end
        Assert.Equal(LiveStatus.Live, Live.Status); // not read as a page offline would
    }

    [Fact]
    public async Task A_payout_that_completes_soon_after_the_result_shows_on_the_next_poll()
    {
        var pool = ResolvedPool();
        var bet = UnsettledBet(pool);
        Gateway.Answer(PoolPath(pool), pool);
        Gateway.Answer(MyBetsPath, new BetPage([bet], null));
        var page = RenderPoolPage(pool);
        await FirstReadsDoneAsync(page);

        // Paid while the page was loading: its pushes came before the page watched.
        var paidAt = Clock.GetUtcNow();
        Gateway.Answer(PoolPath(pool), pool.PaidOutAt(paidAt));
        Gateway.Answer(MyBetsPath, new BetPage([bet with { SettledResult = "won", PayoutMinor = 19_00, SettledAt = paidAt }], null));
        Clock.Advance(TimeSpan.FromSeconds(3));

        page.WaitForAssertion(() =>
        {
            Assert.Equal("true", page.Find("[data-testid=settlement]").GetAttribute("data-settled"));
            Assert.Equal("won", page.Find("[data-testid=my-bet]").GetAttribute("data-result"));
        });
    }

    /// <summary>The page has read the pool and the player's bet, and set its poll (just after).</summary>
    private async Task FirstReadsDoneAsync(IRenderedComponent<PoolPage> page)
    {
        page.WaitForElement("[data-testid=my-bet]");
        Assert.True(await SoonAsync(() => Reads(MyBetsPath) == 1));
        await Task.Delay(200);
    }

    private IRenderedComponent<PoolPage> RenderPoolPage(Pool pool)
    {
        Bunit.JSInterop.Mode = JSRuntimeMode.Loose;
        Bunit.Services.AddSingleton(new WalletState(Client, Live, PageTime));
        return Bunit.Render<PoolPage>(parameters => parameters.Add(p => p.PoolId, pool.Id));
    }

    private int Reads(string path) => Gateway.Requests.Count(r => r == path);

    private static string PoolPath(Pool pool) => $"/api/pools/{pool.Id}";

    /// <summary>Yes won; Settlement has not paid it (stopped, as far as the page can tell).</summary>
    private Pool ResolvedPool()
    {
        var now = Clock.GetUtcNow();
        return new(
            Guid.NewGuid(), new PoolChannel("twitch", "streamer1"), Guid.NewGuid(), "Who wins?", "resolved", false,
            [new PoolOutcome(_yes, "Yes", 10_00, 1, 2m), new PoolOutcome(_no, "No", 10_00, 1, null)], 20_00, 1_00, 1_000_00, 500, 60,
            now.AddMinutes(-5), now.AddMinutes(-5), now.AddMinutes(-4), now.AddMinutes(-4), now.AddMinutes(-1), [_yes], null, "failed", null, 3);
    }

    private Bet UnsettledBet(Pool pool) => new(Guid.NewGuid(), pool.Id, _yes, 10_00, "accepted", Clock.GetUtcNow().AddMinutes(-4.5), null, null, null, null);
}
