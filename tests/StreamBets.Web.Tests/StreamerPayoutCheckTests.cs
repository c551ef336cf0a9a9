using System.Globalization;
using Bunit;
using StreamBets.Web.Components.Pages;
using StreamBets.Web.Gateway;
using StreamBets.Web.Live;

namespace StreamBets.Web.Tests;

/// <summary>
/// The streamer's page with the hub live: its lists are read again only on a push, and no push says a payout stopped.
/// While a finished pool shows "Paying out…", the page asks Settlement again every 30 s; never while none does.
/// </summary>
public sealed class StreamerPayoutCheckTests : ConnectedPageTest
{
    private const string LivePath = "/api/pools/live";
    private const string FinishedPath = "/api/pools/finished";
    private static readonly PoolChannel Channel = new("twitch", "streamer1");

    /// <summary>Before, the page said "Paying out…" until the next push, reconnect or page load.</summary>
    [Fact]
    public async Task A_payout_that_stops_after_the_page_read_its_lists_shows_stopped_within_30_seconds()
    {
        CultureInfo.CurrentUICulture = new CultureInfo("en");
        var pool = FinishedPool();
        Gateway.Answer(SettlementPath(pool), SettlementOf(pool, "running"));
        var page = RenderStreamerPage(pool);
        page.WaitForAssertion(() => Assert.Equal("Paying out…", SettlementNote(page, pool).TextContent));
        Assert.True(await SoonAsync(() => Reads(SettlementPath(pool)) == 1));
        Assert.Equal(LiveStatus.Live, Live.Status);

        Gateway.Answer(SettlementPath(pool), SettlementOf(pool, "failed"));
        // 30 s on, and on until a read comes of it (the page may still be setting its check up when the clock first moves).
        Assert.True(await AdvanceUntilAsync(() => Reads(SettlementPath(pool)) >= 2), "Settlement was not asked again.");

        page.WaitForAssertion(() => Assert.Equal("true", SettlementNote(page, pool).GetAttribute("data-stopped")));
        Assert.Equal(1, Reads(LivePath)); // the check asks Settlement only, not for the lists
    }

    [Fact]
    public async Task Settlement_is_asked_again_only_while_a_pool_shows_paying_out_and_the_page_is_open()
    {
        var pool = FinishedPool();
        Gateway.Answer(SettlementPath(pool), SettlementOf(pool, "running"));
        var page = RenderStreamerPage(pool);
        Assert.Equal(LiveStatus.Live, Live.Status); // no list poll: only the payout check reads Settlement again
        Assert.True(await AdvanceUntilAsync(() => Reads(SettlementPath(pool)) >= 2), "Settlement was not asked again.");

        // Stopped: nothing shows "Paying out…" any more, and time passing asks nothing.
        Gateway.Answer(SettlementPath(pool), SettlementOf(pool, "failed"));
        Assert.True(await AdvanceUntilAsync(() => SettlementNote(page, pool).GetAttribute("data-stopped") == "true"));
        var reads = Reads(SettlementPath(pool));
        Assert.True(await StaysAsync(() =>
        {
            Clock.Advance(TimeSpan.FromSeconds(30));
            return Reads(SettlementPath(pool)) == reads;
        }), "Settlement was asked again though no pool shows paying out.");
    }

    [Fact]
    public async Task A_page_showing_no_pool_paying_out_asks_Settlement_nothing_as_time_passes()
    {
        var (paid, stopped) = (FinishedPool() with { Settlement = "settled", SettledAt = Clock.GetUtcNow() }, FinishedPool());
        Gateway.Answer(SettlementPath(stopped), SettlementOf(stopped, "failed"));
        var page = RenderStreamerPage(paid, stopped);
        page.WaitForAssertion(() => Assert.Equal("true", SettlementNote(page, stopped).GetAttribute("data-stopped")));

        Assert.True(await StaysAsync(() =>
        {
            Clock.Advance(TimeSpan.FromSeconds(30));
            return Reads(SettlementPath(stopped)) == 1 && Reads(SettlementPath(paid)) == 0;
        }), "Settlement was asked again though no pool shows paying out.");
    }

    [Fact]
    public async Task A_page_left_while_a_pool_shows_paying_out_asks_Settlement_no_more()
    {
        var pool = FinishedPool();
        Gateway.Answer(SettlementPath(pool), SettlementOf(pool, "running"));
        RenderStreamerPage(pool);
        Assert.Equal(LiveStatus.Live, Live.Status); // no list poll: only the payout check reads Settlement again
        Assert.True(await SoonAsync(() => Reads(SettlementPath(pool)) == 1));
        // The check's read is on its way, still "running", when the page is left.
        var answerCheck = Gateway.HoldNext(SettlementPath(pool));
        Assert.True(await AdvanceUntilAsync(() => Reads(SettlementPath(pool)) == 2), "Settlement was not asked again.");

        await Bunit.DisposeComponentsAsync();
        answerCheck();

        // Ticks that came while that check was on its way made no second one, and its late answer sets up no more.
        Assert.True(await StaysAsync(() =>
        {
            Clock.Advance(TimeSpan.FromSeconds(30));
            return Reads(SettlementPath(pool)) == 2;
        }), "The page left still asks Settlement.");
    }

    private IRenderedComponent<Streamer> RenderStreamerPage(params Pool[] finished)
    {
        Bunit.AddAuthorization().SetAuthorized("Ana").SetRoles("streamer");
        Gateway.Answer("/api/pools/channels/mine", new[] { new ChannelLink(Channel) });
        Gateway.Answer(LivePath, Array.Empty<Pool>());
        Gateway.Answer(FinishedPath, finished);
        return Bunit.Render<Streamer>();
    }

    private int Reads(string path) => Gateway.Requests.Count(r => r == path);

    /// <summary>
    /// Moves the clock 30 s at a time until the condition holds, checked first: a step after it held would start a check
    /// the test never waits for, whose read lands in what follows.
    /// </summary>
    private Task<bool> AdvanceUntilAsync(Func<bool> condition) => SoonAsync(() =>
    {
        if (condition())
        {
            return true;
        }
        Clock.Advance(TimeSpan.FromSeconds(30));
        return false;
    });

    private static string SettlementPath(Pool pool) => $"/api/settlements/{pool.Id}";

    private static object SettlementOf(Pool pool, string status) =>
        new { poolId = pool.Id, kind = pool.State, status, attempts = 1, lastError = (string?)null, settledBets = 0 };

    private static AngleSharp.Dom.IElement SettlementNote(IRenderedComponent<Streamer> page, Pool pool) =>
        page.FindAll("[data-testid=finished-pool]").Single(li => li.QuerySelector($"a[href='/pools/{pool.Id}']") is not null)
            .QuerySelector("[data-testid=settlement]")!;

    /// <summary>A pool of the channel resolved a minute ago that Pools shows not yet paid out; both sides backed, so it pays its winners.</summary>
    private Pool FinishedPool()
    {
        var (yes, no) = (new PoolOutcome(Guid.NewGuid(), "Yes", 10_00, 1, null), new PoolOutcome(Guid.NewGuid(), "No", 5_00, 1, null));
        var closedAt = Clock.GetUtcNow().AddMinutes(-1);
        return new(
            Guid.NewGuid(), Channel, Guid.NewGuid(), "Who wins?", "resolved", false, [yes, no], 15_00, 1_00, 1_000_00, 500, 120,
            closedAt.AddMinutes(-3), closedAt.AddMinutes(-3), closedAt.AddMinutes(-1), closedAt.AddMinutes(-1), closedAt, [yes.Id], null, "pending", null, 1);
    }
}
