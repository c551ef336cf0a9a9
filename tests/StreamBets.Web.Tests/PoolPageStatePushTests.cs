using Bunit;
using Microsoft.Extensions.DependencyInjection;
using StreamBets.FrontEnd;
using StreamBets.Web.Components.Pages;
using StreamBets.Web.Gateway;
using StreamBets.Web.Live;

namespace StreamBets.Web.Tests;

/// <summary>
/// A pool page with the hub live hears its pool lock and finish by push. As a popular pool locks or resolves every viewer
/// reads it at once, and the read may fail (rate limited, Pools restarting): the page shows the pushed change anyway,
/// and reads the pool again until a read answers, since with the hub live no other push may come.
/// </summary>
public sealed class PoolPageStatePushTests : ConnectedPageTest
{
    [Fact]
    public async Task A_pool_resolved_by_push_shows_its_result_though_the_read_that_follows_fails()
    {
        var pool = OpenPool();
        var path = $"/api/pools/{pool.Id}";
        var page = await ShowAsync(pool);
        var winner = pool.Outcomes[0];

        Gateway.Refuse(path, 503, "dependency-unavailable");
        await Hub.PushAsync("PoolStateChanged", Change(pool, "resolved", [winner.Id]));

        page.WaitForAssertion(() => Assert.Equal("resolved", page.Find("[data-testid=pool-state]").GetAttribute("data-state")));
        Assert.Contains(winner.Label, page.Find("[data-testid=pool-state]").TextContent);
        Assert.Empty(page.FindAll("[data-testid=bet-form]"));
        Assert.True(await SoonAsync(() => Gateway.Requests.Count(r => r == path) == 2)); // the push's read, refused

        // Pools answers again, and the pool is paid out by then: the page's poll (every 3 s) shows it.
        Gateway.Answer(path, pool with { State = "resolved", BettingOpen = false, WinningOutcomeIds = [winner.Id], Settlement = "settled", SettledAt = Clock.GetUtcNow() });
        Assert.True(await SoonAsync(() =>
        {
            Clock.Advance(TimeSpan.FromSeconds(3));
            return Gateway.Requests.Count(r => r == path) >= 3;
        }));
        page.WaitForAssertion(() => Assert.Equal("true", page.Find("[data-testid=settlement]").GetAttribute("data-settled")));
        Assert.Equal("resolved", page.Find("[data-testid=pool-state]").GetAttribute("data-state"));
    }

    [Fact]
    public async Task A_pool_resolved_by_push_shows_what_settlement_pays_while_its_read_fails()
    {
        // 20 on Yes, 80 on No at 5 %: while open, Pools' read gives each outcome's "if it wins" figure (No's is 1.18).
        var open = OpenPool();
        var (yes, no) = (open.Outcomes[0], open.Outcomes[1]);
        var pool = open with { Outcomes = [yes with { StakedMinor = 20_00, BetCount = 1, ReturnPerUnit = 4.75m }, no with { StakedMinor = 80_00, BetCount = 1, ReturnPerUnit = 1.1875m }], TotalStakedMinor = 100_00 };
        var path = $"/api/pools/{pool.Id}";
        var page = await ShowAsync(pool);

        Gateway.Refuse(path, 503, "dependency-unavailable");
        await Hub.PushAsync("PoolStateChanged", Change(pool, "resolved", [yes.Id]));

        page.WaitForAssertion(() => Assert.Equal("resolved", page.Find("[data-testid=pool-state]").GetAttribute("data-state")));
        Assert.Null(page.Find("[data-testid=odds-row][data-outcome=No]").QuerySelector(".odds-figure"));
        Assert.Contains(4.75m.ToString("0.00", System.Globalization.CultureInfo.CurrentCulture), page.Find("[data-testid=odds-row][data-outcome=Yes] .odds-figure").TextContent);
    }

    [Fact]
    public async Task A_pool_read_that_failed_after_its_lock_was_pushed_is_read_again_until_one_answers()
    {
        var pool = OpenPool();
        var path = $"/api/pools/{pool.Id}";
        var page = await ShowAsync(pool);

        Gateway.Refuse(path, 429, "rate-limited");
        await Hub.PushAsync("PoolStateChanged", Change(pool, "locked", []));
        page.WaitForAssertion(() => Assert.Equal("locked", page.Find("[data-testid=pool-state]").GetAttribute("data-state")));
        Assert.True(await SoonAsync(() => Gateway.Requests.Count(r => r == path) == 2)); // the push's read, refused

        // The last second's bets are in Pools' totals: the page reads them once Pools answers again.
        Gateway.Answer(path, pool with { State = "locked", BettingOpen = false, TotalStakedMinor = 123_45 });
        Assert.True(await SoonAsync(() =>
        {
            Clock.Advance(TimeSpan.FromSeconds(3));
            return Gateway.Requests.Count(r => r == path) >= 3;
        }));
        page.WaitForAssertion(() => Assert.Contains(Money.Format(123_45), page.Markup));
        Assert.Equal("locked", page.Find("[data-testid=pool-state]").GetAttribute("data-state"));
    }

    [Fact]
    public async Task A_read_sent_before_the_result_and_answered_after_it_does_not_take_the_pool_back()
    {
        var pool = OpenPool();
        var path = $"/api/pools/{pool.Id}";
        var page = await ShowAsync(pool);
        var winner = pool.Outcomes[1];

        // The lock's read is slow; the result's read, sent after it, fails; then the lock's read answers. Its totals,
        // the last second's bets, tell when the page has taken it in.
        Gateway.Answer(path, pool with { State = "locked", BettingOpen = false, TotalStakedMinor = 123_45 });
        var answerLocksRead = Gateway.HoldNext(path);
        await Hub.PushAsync("PoolStateChanged", Change(pool, "locked", [], sequence: 1));
        Assert.True(await SoonAsync(() => Gateway.Requests.Count(r => r == path) == 2));
        Gateway.Refuse(path, 503, "dependency-unavailable");
        await Hub.PushAsync("PoolStateChanged", Change(pool, "resolved", [winner.Id], sequence: 2));
        Assert.True(await SoonAsync(() => Gateway.Requests.Count(r => r == path) == 3));
        page.WaitForAssertion(() => Assert.Equal("resolved", page.Find("[data-testid=pool-state]").GetAttribute("data-state")));

        answerLocksRead();
        page.WaitForAssertion(() => Assert.Contains(Money.Format(123_45), page.Markup));

        Assert.Equal("resolved", page.Find("[data-testid=pool-state]").GetAttribute("data-state"));
        Assert.Contains(winner.Label, page.Find("[data-testid=pool-state]").TextContent);
    }

    /// <summary>The pool page, showing the open pool, with the hub watching it.</summary>
    private async Task<IRenderedComponent<PoolPage>> ShowAsync(Pool pool)
    {
        Gateway.Answer($"/api/pools/{pool.Id}", pool);
        Gateway.Answer("/api/bets/mine", new BetPage([], null));
        Bunit.JSInterop.Mode = JSRuntimeMode.Loose;
        Bunit.Services.AddSingleton(new WalletState(Client, Live, PageTime));
        var page = Bunit.Render<PoolPage>(parameters => parameters.Add(p => p.PoolId, pool.Id));
        page.WaitForAssertion(() => Assert.Equal("open", page.Find("[data-testid=pool-state]").GetAttribute("data-state")));
        Assert.True(await SoonAsync(() => Hub.Calls.Contains($"WatchPool {pool.Id}")));
        return page;
    }

    private PoolStateChangedMessage Change(Pool pool, string state, Guid[] winners, long sequence = 1) =>
        new(pool.Id, state, winners, Clock.GetUtcNow()) { Stream = $"pool:{pool.Id}", Sequence = sequence };

    private Pool OpenPool() => new(
        Guid.NewGuid(), new PoolChannel("twitch", "streamer1"), Guid.NewGuid(), "Who wins?", "open", true,
        [new PoolOutcome(Guid.NewGuid(), "Yes", 0, 0, null), new PoolOutcome(Guid.NewGuid(), "No", 0, 0, null)], 0, 1_00, 1_000_00, 500, 60,
        Clock.GetUtcNow(), Clock.GetUtcNow(), Clock.GetUtcNow().AddHours(1), null, null, [], null, null, null, 1);
}
