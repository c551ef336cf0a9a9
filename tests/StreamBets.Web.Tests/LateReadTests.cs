using System.Text.Json;
using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
using StreamBets.FrontEnd;
using StreamBets.Testing;
using StreamBets.Web.Components.Pages;
using StreamBets.Web.Gateway;
using StreamBets.Web.Live;

namespace StreamBets.Web.Tests;

/// <summary>
/// A REST read that lags the hub (Pools' totals behind the Bet Engine's odds, a wallet read begun before a payout's
/// push) never undoes the newer state a push already showed.
/// </summary>
public sealed class LateReadTests : PlayerPageTest
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    [Fact]
    public async Task A_wallet_read_begun_before_a_balance_push_does_not_overwrite_it()
    {
        using var wallet = new WalletState(Client, Live, PageTime);
        Gateway.Answer("/api/users/me/wallet", new WalletBalance(Guid.Empty, 10_00));
        var release = Gateway.Hold("/api/users/me/wallet");
        var read = wallet.RefreshAsync();

        Push("WalletChanged", new WalletChangedMessage(25_00, 15_00, "payout", Clock.GetUtcNow()) { Stream = "user", Sequence = 7 });
        release();
        await read;

        Assert.Equal(25_00, wallet.BalanceMinor);
    }

    [Fact]
    public async Task A_channel_read_lagging_the_pushed_odds_keeps_the_pushed_totals()
    {
        var pool = OpenPool(900_00);
        await using var list = new LivePoolList(Live, Clock, work => work(), () => Task.CompletedTask, () => { });
        await list.ShowAsync([pool]);

        Push("OddsChanged", Odds(pool, 1_000_00));
        await list.ShowAsync([pool with { State = "locked" }]); // Pools' read, its totals not caught up yet

        Assert.Equal("locked", list.Pools![0].State);
        Assert.Equal(1_000_00, list.Pools[0].TotalStakedMinor);
        Assert.Equal([600_00, 400_00], list.Pools[0].Outcomes.Select(o => o.StakedMinor));
    }

    [Fact]
    public async Task Odds_arriving_late_from_a_replica_with_a_later_clock_do_not_replace_newer_ones()
    {
        var pool = OpenPool(900_00);
        await using var list = new LivePoolList(Live, Clock, work => work(), () => Task.CompletedTask, () => { });
        await list.ShowAsync([pool]);
        Serve(pool);
        var page = RenderPoolPage(pool.Id);
        page.WaitForAssertion(() => Assert.Equal("open", StateShown(page)));

        Push("OddsChanged", Odds(pool, 990_00) with { Sequence = 3 });
        Push("OddsChanged", Odds(pool, 1_000_00) with { Sequence = 5 });
        Assert.True(await SoonAsync(() => page.Markup.Contains(Money.Format(1_000_00))));
        // Number 4 comes late (another replica's push): older, less staked, but read by a Bet Engine replica whose clock runs ahead.
        Push("OddsChanged", Odds(pool, 995_00) with { Sequence = 4, AsOf = Clock.GetUtcNow().AddSeconds(2) });

        Assert.Equal(1_000_00, list.Pools![0].TotalStakedMinor);
        Assert.True(await StaysAsync(() => page.Markup.Contains(Money.Format(1_000_00))), "the older odds replaced the newer");
    }

    [Fact]
    public void A_pool_page_read_again_on_its_lock_keeps_the_last_pushed_totals()
    {
        var pool = OpenPool(900_00);
        Gateway.Answer($"/api/pools/{pool.Id}", pool);
        Gateway.Answer("/api/bets/mine", new BetPage([], null));
        var page = RenderPoolPage(pool.Id);
        page.WaitForAssertion(() => Assert.Equal("open", page.Find("[data-testid=pool-state]").GetAttribute("data-state")));

        Push("OddsChanged", Odds(pool, 1_000_00)); // the last bets
        page.WaitForAssertion(() => Assert.Contains(Money.Format(1_000_00), page.Markup));
        Gateway.Answer($"/api/pools/{pool.Id}", pool with { State = "locked", BettingOpen = false }); // totals lag behind
        Push("PoolStateChanged", new PoolStateChangedMessage(pool.Id, "locked", [], Clock.GetUtcNow()) { Stream = $"pool:{pool.Id}", Sequence = 3 });

        page.WaitForAssertion(() => Assert.Equal("locked", page.Find("[data-testid=pool-state]").GetAttribute("data-state")));
        Assert.Contains(Money.Format(1_000_00), page.Markup);
        Assert.DoesNotContain(Money.Format(900_00), page.Markup);
    }

    [Fact]
    public async Task A_pool_read_answered_after_a_later_one_does_not_bring_back_the_state_it_saw()
    {
        var pool = OpenPool(900_00);
        var path = Serve(pool);
        var page = RenderPoolPage(pool.Id);
        page.WaitForAssertion(() => Assert.Equal("open", StateShown(page)));

        // Not live, the page reads the pool every 3 s: this read is slow, and answers the pool as it was when sent.
        var release = Gateway.HoldNext(path);
        // The page sets its poll timer once its first reads are done, which can be after "open" shows: the clock moves a
        // poll's time on again only while no read came of it (no timer set yet), so exactly one poll reads.
        Assert.True(await Eventually.HoldsAsync(async () =>
        {
            if (Reads(path) == 1)
            {
                Clock.Advance(TimeSpan.FromSeconds(3));
                await Task.Delay(200);
            }
            return Reads(path) == 2;
        }, TimeSpan.FromSeconds(15)));
        // Locked by hand meanwhile: the push's read answers first.
        Gateway.Answer(path, LockedByHand(pool));
        Push("PoolStateChanged", LockedPush(pool, $"pool:{pool.Id}", 3));
        Assert.True(await SoonAsync(() => StateShown(page) == "locked"));

        release();

        Assert.True(await StaysAsync(() => StateShown(page) == "locked"), "the slow read's 'open' came back");
        Assert.Empty(page.FindAll("[data-testid=bet-form]"));
    }

    [Fact]
    public async Task Pushes_that_come_while_the_pool_page_first_reads_its_pool_are_not_missed()
    {
        var pool = OpenPool(900_00);
        var path = Serve(pool);
        var release = Gateway.HoldNext(path);
        var page = RenderPoolPage(pool.Id);
        Assert.True(await SoonAsync(() => Reads(path) == 1));

        // The last bets and a lock by hand while the page's first read is on its way.
        Push("OddsChanged", Odds(pool, 1_000_00));
        Gateway.Answer(path, LockedByHand(pool)); // totals lag behind
        Push("PoolStateChanged", LockedPush(pool, $"pool:{pool.Id}", 3));
        release();

        Assert.True(await SoonAsync(() => StateShown(page) == "locked"), $"Shown: {StateShown(page)}");
        Assert.True(await StaysAsync(() => StateShown(page) == "locked"));
        Assert.Contains(Money.Format(1_000_00), page.Markup);
    }

    [Fact]
    public async Task A_state_change_heard_on_both_the_pool_and_its_channel_reads_the_pool_once()
    {
        var pool = OpenPool(900_00);
        var path = Serve(pool);
        var page = RenderPoolPage(pool.Id);
        page.WaitForAssertion(() => Assert.Equal("open", StateShown(page)));
        var readsBefore = Reads(path);

        Gateway.Answer(path, LockedByHand(pool));
        Push("PoolStateChanged", LockedPush(pool, $"pool:{pool.Id}", 3));
        Push("PoolStateChanged", LockedPush(pool, "channel:twitch:streamer1", 8)); // the chat beside it watches the channel

        Assert.True(await SoonAsync(() => StateShown(page) == "locked"));
        // The push shows at once, before its read is sent: once sent, no second one follows.
        Assert.True(await SoonAsync(() => Reads(path) > readsBefore));
        Assert.True(await StaysAsync(() => Reads(path) == readsBefore + 1), $"Reads: {Reads(path) - readsBefore}");
    }

    [Fact]
    public async Task A_pool_page_moved_to_another_pool_before_its_first_read_answered_keeps_watching_the_new_one()
    {
        var (first, second) = (OpenPool(900_00), OpenPool(100_00));
        var releaseFirst = Gateway.HoldNext(Serve(first));
        var releaseSecond = Gateway.HoldNext(Serve(second));
        var page = RenderPoolPage(first.Id);
        Assert.True(await SoonAsync(() => Reads($"/api/pools/{first.Id}") == 1));

        // Back or forward in the browser's history: the same page instance, now for the second pool, before either read answered.
        var moved = page.InvokeAsync(() => page.Instance.SetParametersAsync(ParameterView.FromDictionary(new Dictionary<string, object?> { [nameof(PoolPage.PoolId)] = second.Id })));
        Assert.True(await SoonAsync(() => Reads($"/api/pools/{second.Id}") == 1));
        releaseFirst();
        await Task.Delay(200); // the first pool's call ends
        releaseSecond();
        await moved;

        Assert.True(await SoonAsync(() => StateShown(page) == "open"));
        Assert.Equal([second.Id], Live.WatchedPools);
    }

    /// <summary>The pool page's reads answer this pool, and no bets of the player's on it; the pool's path.</summary>
    private string Serve(Pool pool)
    {
        Gateway.Answer($"/api/pools/{pool.Id}", pool);
        Gateway.Answer("/api/bets/mine", new BetPage([], null));
        return $"/api/pools/{pool.Id}";
    }

    private Pool LockedByHand(Pool pool) => pool with { State = "locked", BettingOpen = false, LockedAt = Clock.GetUtcNow() };

    private PoolStateChangedMessage LockedPush(Pool pool, string stream, long sequence) =>
        new(pool.Id, "locked", [], Clock.GetUtcNow()) { Stream = stream, Sequence = sequence };

    private int Reads(string path) => Gateway.Requests.Count(r => r == path);

    private static string? StateShown(IRenderedComponent<PoolPage> page) =>
        page.FindAll("[data-testid=pool-state]") is [var state] ? state.GetAttribute("data-state") : null;

    private IRenderedComponent<PoolPage> RenderPoolPage(Guid poolId)
    {
        Bunit.JSInterop.Mode = JSRuntimeMode.Loose;
        Bunit.AddAuthorization().SetAuthorized("Ana"); // the chat beside the pool
        Bunit.Services.AddSingleton(new WalletState(Client, Live, PageTime));
        return Bunit.Render<PoolPage>(parameters => parameters.Add(p => p.PoolId, poolId));
    }

    private void Push(string name, LiveMessage message) => Live.Receive(name, JsonSerializer.SerializeToElement(message, message.GetType(), Json));

    private readonly Guid _yes = Guid.NewGuid();
    private readonly Guid _no = Guid.NewGuid();

    private Pool OpenPool(long total) => new(
        Guid.NewGuid(), new PoolChannel("twitch", "streamer1"), Guid.NewGuid(), "Who wins?", "open", true,
        [new PoolOutcome(_yes, "Yes", total / 2, 9, null), new PoolOutcome(_no, "No", total / 2, 9, null)], total, 1_00, 1_000_00, 500, 60,
        Clock.GetUtcNow(), Clock.GetUtcNow(), Clock.GetUtcNow().AddMinutes(1), null, null, [], null, null, null, 1);

    private OddsChangedMessage Odds(Pool pool, long total) =>
        new(pool.Id, total, [new OutcomeStakesMessage(_yes, total * 6 / 10, 12), new OutcomeStakesMessage(_no, total * 4 / 10, 8)], Clock.GetUtcNow())
        {
            Stream = $"pool:{pool.Id}",
            Sequence = 2,
        };
}
