using Bunit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.JSInterop;
using StreamBets.FrontEnd;
using StreamBets.FrontEnd.Gateway;
using StreamBets.Testing;
using StreamBets.Web.Components.Pages;
using StreamBets.Web.Gateway;
using StreamBets.Web.Live;

namespace StreamBets.Web.Tests;

/// <summary>
/// The pool page tells the player what became of each bet they sent: a pending one until the Bet Engine decides it,
/// and one whose answer was lost before any different bet is sent, after a reload too (the browser tab keeps it, for its
/// player only). A tap after the lock time is told the pool is locked.
/// </summary>
public sealed class BetAnswerTests : PlayerPageTest
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(250);
    private readonly Guid _yes = Guid.NewGuid();
    private readonly Guid _no = Guid.NewGuid();

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Bunit.JSInterop.Mode = JSRuntimeMode.Loose;
        Bunit.AddAuthorization().SetAuthorized("Ana");
        Bunit.Services.AddScoped<WalletState>();
    }

    [Fact]
    public async Task A_pending_bet_shows_as_pending_until_recovery_decides_it_seconds_later_then_as_accepted()
    {
        var pool = OpenPool();
        var pending = new Bet(Guid.NewGuid(), pool.Id, _yes, 10_00, "pending", Clock.GetUtcNow(), null, null, null, null);
        Gateway.Answer("/api/bets", pending);
        Gateway.Answer($"/api/bets/{pending.BetId}", pending);
        var page = RenderPool(pool);

        Gateway.Answer("/api/bets/mine", new BetPage([pending], null));
        await BetAsync(page, _yes, "10");
        page.WaitForAssertion(() => Assert.Equal("pending", page.Find("[data-testid=my-bet]").GetAttribute("data-status")));

        // Recovery decides a pending bet 10 to 15 s after it was written.
        await RunClockAsync(TimeSpan.FromSeconds(15));
        Assert.Equal("pending", page.Find("[data-testid=my-bet]").GetAttribute("data-status"));
        var accepted = pending with { Status = "accepted" };
        Gateway.Answer($"/api/bets/{pending.BetId}", accepted);
        Gateway.Answer("/api/bets/mine", new BetPage([accepted], null));
        await RunClockAsync(TimeSpan.FromSeconds(10));

        page.WaitForAssertion(() => Assert.Equal("accepted", page.Find("[data-testid=my-bet]").GetAttribute("data-status")));
        Assert.Contains("Bet accepted", page.Find("[data-testid=bet-placed]").TextContent);
    }

    [Fact]
    public async Task A_pending_bet_that_recovery_refuses_shows_why()
    {
        var pool = OpenPool();
        var pending = new Bet(Guid.NewGuid(), pool.Id, _yes, 10_00, "pending", Clock.GetUtcNow(), null, null, null, null);
        Gateway.Answer("/api/bets", pending);
        Gateway.Answer($"/api/bets/{pending.BetId}", pending);
        var page = RenderPool(pool);
        Gateway.Answer("/api/bets/mine", new BetPage([pending], null));
        await BetAsync(page, _yes, "10");
        page.WaitForAssertion(() => Assert.Equal("pending", page.Find("[data-testid=my-bet]").GetAttribute("data-status")));

        await RunClockAsync(TimeSpan.FromSeconds(12));
        var refused = pending with { Status = "rejected", RejectionCode = "insufficient-funds" };
        Gateway.Answer($"/api/bets/{pending.BetId}", refused);
        Gateway.Answer("/api/bets/mine", new BetPage([refused], null));
        await RunClockAsync(TimeSpan.FromSeconds(10));

        page.WaitForAssertion(() => Assert.Equal("insufficient-funds", page.Find("[data-testid=problem]").GetAttribute("data-code")));
        Assert.Empty(page.FindAll("[data-testid=my-bet]"));
    }

    [Fact]
    public async Task After_a_bet_went_unanswered_a_changed_bet_is_not_sent_and_the_form_holds_the_unanswered_one_again()
    {
        var pool = OpenPool();
        var page = await UnansweredBetAsync(pool, _yes, "10");

        // No bet shows on the pool, yet the Bet Engine may still place the first after the Gateway gave up on it.
        await BetAsync(page, _no, "20");

        FormHoldsTheUnansweredBetFirst(page);
        Assert.Equal(["POST /api/bets"], Gateway.Changes);
    }

    [Fact]
    public async Task The_unanswered_bet_sent_again_keeps_its_key_and_once_answered_a_different_bet_gets_a_new_one()
    {
        var pool = OpenPool();
        var page = await UnansweredBetAsync(pool, _yes, "10");
        await BetAsync(page, _yes, "20");
        page.WaitForElement("[data-testid=resend-first]");

        var placed = new Bet(Guid.NewGuid(), pool.Id, _yes, 10_00, "accepted", Clock.GetUtcNow(), null, null, null, null);
        Gateway.Answer("/api/bets", placed);
        Gateway.Answer("/api/bets/mine", new BetPage([placed], null));
        await page.FindAndSubmitAsync("[data-testid=bet-form]"); // the form as restored: the same bet
        page.WaitForAssertion(() => Assert.Contains("Bet accepted", page.Find("[data-testid=bet-placed]").TextContent));

        Gateway.Answer("/api/bets", placed with { BetId = Guid.NewGuid(), StakeMinor = 20_00 });
        await BetAsync(page, _yes, "20");

        page.WaitForAssertion(() => Assert.Equal(3, Gateway.IdempotencyKeys("/api/bets").Count));
        var keys = Gateway.IdempotencyKeys("/api/bets");
        Assert.Equal(keys[0], keys[1]);
        Assert.NotEqual(keys[1], keys[2]);
        Assert.Equal(20_00, Gateway.LastBody("/api/bets")!.Value.GetProperty("stakeMinor").GetInt64());
    }

    [Fact]
    public async Task An_unanswered_bet_is_back_in_the_form_after_a_reload_and_sent_again_under_its_first_key()
    {
        var pool = OpenPool();
        var page = await UnansweredBetAsync(pool, _yes, "10");

        // The Bet Engine may have placed it after all; the player reloads and sends the bet the form holds.
        page = await ReloadAsync(pool);
        FormHoldsTheUnansweredBetFirst(page);
        Gateway.Answer("/api/bets", new Bet(Guid.NewGuid(), pool.Id, _yes, 10_00, "accepted", Clock.GetUtcNow(), null, null, null, null));
        await page.FindAndSubmitAsync("[data-testid=bet-form]");

        page.WaitForAssertion(() => Assert.Contains("Bet accepted", page.Find("[data-testid=bet-placed]").TextContent));
        var keys = Gateway.IdempotencyKeys("/api/bets");
        Assert.Equal(2, keys.Count);
        Assert.Equal(keys[0], keys[1]);
        Assert.Equal(10_00, Gateway.LastBody("/api/bets")!.Value.GetProperty("stakeMinor").GetInt64());
    }

    [Fact]
    public async Task Once_the_kept_bet_has_an_answer_even_a_refusal_a_reload_no_longer_brings_it_back()
    {
        var pool = OpenPool();
        var page = await UnansweredBetAsync(pool, _yes, "10");
        page = await ReloadAsync(pool);
        page.WaitForElement("[data-testid=resend-first]");
        Gateway.Refuse("/api/bets", 422, "insufficient-funds");
        await page.FindAndSubmitAsync("[data-testid=bet-form]");
        page.WaitForAssertion(() => Assert.Equal("insufficient-funds", page.Find("[data-testid=problem]").GetAttribute("data-code")));
        Assert.Empty(Tab.SessionStorage);

        page = await ReloadAsync(pool);
        Gateway.Answer("/api/bets", new Bet(Guid.NewGuid(), pool.Id, _no, 20_00, "accepted", Clock.GetUtcNow(), null, null, null, null));
        await BetAsync(page, _no, "20");

        page.WaitForAssertion(() => Assert.Contains("Bet accepted", page.Find("[data-testid=bet-placed]").TextContent));
        Assert.Empty(page.FindAll("[data-testid=resend-first]"));
        var keys = Gateway.IdempotencyKeys("/api/bets");
        Assert.Equal(3, keys.Count);
        Assert.NotEqual(keys[0], keys[2]);
    }

    [Fact]
    public async Task A_retry_refused_by_the_gateways_rate_limit_keeps_the_unanswered_bets_key_for_the_next_one()
    {
        var pool = OpenPool();
        var page = await UnansweredBetAsync(pool, _yes, "10");

        // The retry never reached the Bet Engine, which may still place the first: it proves nothing either way.
        Gateway.Refuse("/api/bets", 429, "rate-limited");
        await BetAsync(page, _yes, "10");
        page.WaitForAssertion(() => Assert.Equal("rate-limited", page.Find("[data-testid=problem]").GetAttribute("data-code")));
        Gateway.Answer("/api/bets", new Bet(Guid.NewGuid(), pool.Id, _yes, 10_00, "accepted", Clock.GetUtcNow(), null, null, null, null));
        await BetAsync(page, _yes, "10");

        page.WaitForAssertion(() => Assert.Contains("Bet accepted", page.Find("[data-testid=bet-placed]").TextContent));
        var keys = Gateway.IdempotencyKeys("/api/bets");
        Assert.Equal(3, keys.Count);
        Assert.All(keys, key => Assert.Equal(keys[0], key));
        page.WaitForAssertion(() => Assert.Empty(Tab.SessionStorage)); // kept until the success, then forgotten
    }

    [Fact]
    public async Task A_bet_answered_after_the_page_moved_to_another_pool_leaves_that_pools_unanswered_bet_and_its_key()
    {
        var (poolA, poolB) = (OpenPool() with { Title = "Pool A" }, OpenPool() with { Title = "Pool B" });
        Gateway.Answer($"/api/pools/{poolA.Id}", poolA);
        var page = await UnansweredBetAsync(poolB, _no, "20"); // B1: unanswered, kept in the tab for pool B
        MoveTo(page, poolA);

        // A bet on pool A is on its way when the player follows a link to pool B, where B1 is back in the form.
        Gateway.Answer("/api/bets", new Bet(Guid.NewGuid(), poolA.Id, _yes, 10_00, "accepted", Clock.GetUtcNow(), null, null, null, null));
        var release = Gateway.Hold("/api/bets");
        var betting = BetAsync(page, _yes, "10");
        Assert.True(await SoonAsync(() => Gateway.IdempotencyKeys("/api/bets").Count == 2)); // held: no render tells

        MoveTo(page, poolB);
        page.WaitForAssertion(() => Assert.Contains(Money.Format(20_00), page.Find("[data-testid=resend-first]").TextContent));
        release();
        await betting;

        // Pool B's page shows nothing of A's bet (the render after its answer is the one that enables the button).
        page.WaitForAssertion(() => Assert.Null(page.Find("[data-testid=place-bet]").GetAttribute("disabled")));
        Assert.Empty(page.FindAll("[data-testid=bet-placed]"));
        Gateway.Answer("/api/bets", new Bet(Guid.NewGuid(), poolB.Id, _no, 20_00, "accepted", Clock.GetUtcNow(), null, null, null, null));
        await page.FindAndSubmitAsync("[data-testid=bet-form]"); // the form as restored: B1

        page.WaitForAssertion(() => Assert.Equal(3, Gateway.IdempotencyKeys("/api/bets").Count));
        var keys = Gateway.IdempotencyKeys("/api/bets");
        Assert.Equal(keys[0], keys[2]);
        Assert.NotEqual(keys[1], keys[2]);
        var body = Gateway.LastBody("/api/bets")!.Value;
        Assert.Equal(poolB.Id, body.GetProperty("poolId").GetGuid());
        Assert.Equal(20_00, body.GetProperty("stakeMinor").GetInt64());
    }

    [Fact]
    public async Task A_bet_whose_keeping_in_the_tab_is_slow_goes_under_its_own_key_when_the_page_moves_to_another_pool_and_the_session_lives()
    {
        var (poolA, poolB) = (OpenPool() with { Title = "Pool A" }, OpenPool() with { Title = "Pool B" });
        Gateway.Answer($"/api/pools/{poolB.Id}", poolB);
        var page = RenderPool(poolA);
        Gateway.Answer("/api/bets", new Bet(Guid.NewGuid(), poolA.Id, _yes, 10_00, "accepted", Clock.GetUtcNow(), null, null, null, null));
        var release = Tab.HoldWrites();
        var betting = BetAsync(page, _yes, "10");
        Assert.True(await SoonAsync(() => Bunit.JSInterop.Invocations["sessionStorage.setItem"].Count == 1)); // held: no render tells

        MoveTo(page, poolB);
        release();
        await betting;

        if (Bunit.Renderer.UnhandledException.IsCompleted)
        {
            Assert.Fail($"The bet threw, which ends the player's circuit: {await Bunit.Renderer.UnhandledException}");
        }
        var sent = Assert.Single(Gateway.IdempotencyKeys("/api/bets"));
        Assert.False(string.IsNullOrEmpty(sent));
        Assert.Equal(poolA.Id, Gateway.LastBody("/api/bets")!.Value.GetProperty("poolId").GetGuid());
        page.WaitForAssertion(() => Assert.Empty(Tab.SessionStorage)); // answered: forgotten for pool A

        // Pool B's page works on: its own bet goes, under a key of its own.
        Gateway.Answer("/api/bets", new Bet(Guid.NewGuid(), poolB.Id, _no, 20_00, "accepted", Clock.GetUtcNow(), null, null, null, null));
        await BetAsync(page, _no, "20");
        page.WaitForAssertion(() => Assert.Contains("Bet accepted", page.Find("[data-testid=bet-placed]").TextContent));
        var keys = Gateway.IdempotencyKeys("/api/bets");
        Assert.Equal(2, keys.Count);
        Assert.NotEqual(keys[0], keys[1]);
    }

    [Fact]
    public async Task A_different_bet_clicked_before_the_kept_one_is_read_back_is_held_for_it_with_the_notice()
    {
        var pool = OpenPool();
        var page = await UnansweredBetAsync(pool, _yes, "10");

        // After a reload the tab is slow to give the kept bet back, and the player picks and sends another meanwhile.
        var release = Tab.HoldReads();
        page = await ReloadAsync(pool);
        var betting = BetAsync(page, _no, "20");
        page.WaitForAssertion(() => Assert.Contains("Placing", page.Find("[data-testid=place-bet]").TextContent)); // the click waits for the read
        release();
        await betting;

        FormHoldsTheUnansweredBetFirst(page);
        Assert.Equal(["POST /api/bets"], Gateway.Changes);
    }

    [Fact]
    public async Task Another_player_signing_in_on_the_tab_neither_sees_nor_reuses_the_first_players_unanswered_bet()
    {
        var pool = OpenPool();
        var page = await UnansweredBetAsync(pool, _yes, "10");
        await Bunit.DisposeComponentsAsync(); // Ana signs out

        // Bea signs in on the same tab (a new circuit) and bets otherwise: nothing holds her bet back, and it has its own key.
        var (client, session, beasRedis) = await Gateway.SignedInAsync();
        await using var redis = beasRedis;
        await using var live = PlayerPages.UnstartedLiveUpdates(session, Clock);
        await using var bea = new BunitContext();
        bea.JSInterop.Mode = JSRuntimeMode.Loose;
        bea.AddPlayerPage(client, session, live, Clock, Tab);
        bea.AddAuthorization().SetAuthorized("Bea");
        bea.Services.AddScoped<WalletState>();
        var beasPage = bea.Render<PoolPage>(parameters => parameters.Add(p => p.PoolId, pool.Id));
        beasPage.WaitForElement("[data-testid=bet-form]");
        Gateway.Answer("/api/bets", new Bet(Guid.NewGuid(), pool.Id, _no, 20_00, "accepted", Clock.GetUtcNow(), null, null, null, null));
        await BetAsync(beasPage, _no, "20");
        beasPage.WaitForAssertion(() => Assert.Contains("Bet accepted", beasPage.Find("[data-testid=bet-placed]").TextContent));
        Assert.Empty(beasPage.FindAll("[data-testid=resend-first]"));
        var keys = Gateway.IdempotencyKeys("/api/bets");
        Assert.NotEqual(keys[0], keys[1]);

        // Ana, back on the tab, still finds hers.
        page = RenderPool(pool);
        page.WaitForAssertion(() => Assert.Contains(Money.Format(10_00), page.Find("[data-testid=resend-first]").TextContent));
        Assert.True(page.Find($"#outcome-{_yes:N}").HasAttribute("checked"));
    }

    [Fact]
    public async Task A_kept_bet_tampered_with_in_the_tab_counts_as_none_and_the_page_works_as_usual()
    {
        var pool = OpenPool();
        var page = await UnansweredBetAsync(pool, _yes, "10");
        Assert.Single(Tab.SessionStorage);
        Tab.TamperWithEverything();

        page = await ReloadAsync(pool);
        Gateway.Answer("/api/bets", new Bet(Guid.NewGuid(), pool.Id, _no, 20_00, "accepted", Clock.GetUtcNow(), null, null, null, null));
        await BetAsync(page, _no, "20");

        page.WaitForAssertion(() => Assert.Contains("Bet accepted", page.Find("[data-testid=bet-placed]").TextContent));
        Assert.Empty(page.FindAll("[data-testid=resend-first]"));
        Assert.False(Bunit.Renderer.UnhandledException.IsCompleted);
        var keys = Gateway.IdempotencyKeys("/api/bets");
        Assert.Equal(2, keys.Count);
        Assert.NotEqual(keys[0], keys[1]);
        Assert.Empty(Tab.SessionStorage);
    }

    [Fact]
    public async Task An_outcome_tapped_just_after_the_lock_time_shows_the_pool_locked_and_keeps_the_session()
    {
        var pool = OpenPool() with { LocksAt = Clock.GetUtcNow().AddSeconds(1) };
        var page = RenderPool(pool);
        // The browser cannot focus a bet button that has left the page: its error, uncaught, would end the session.
        Bunit.JSInterop.SetupVoid("Blazor._internal.domWrapper.focus", _ => true).SetException(new JSException("Unable to focus an invalid element."));

        Clock.Advance(TimeSpan.FromSeconds(2)); // past the lock time, before the page's next poll redraws it
        await page.FindAndClickAsync("[data-testid=odds-row][data-outcome=Yes] button.odds-pick");

        if (Bunit.Renderer.UnhandledException.IsCompleted)
        {
            Assert.Fail($"The tap threw, which ends the player's circuit: {await Bunit.Renderer.UnhandledException}");
        }
        Assert.Single(page.FindAll("[data-testid=pool-state] .badge-locked"));
        Assert.Empty(page.FindAll("[data-testid=bet-form]"));
        Assert.Empty(Gateway.Changes);
    }

    [Fact]
    public async Task A_last_second_bets_answer_stays_when_an_outcome_is_tapped_after_the_lock_time()
    {
        var pool = OpenPool() with { LocksAt = Clock.GetUtcNow().AddSeconds(1) };
        Gateway.Answer("/api/bets", new Bet(Guid.NewGuid(), pool.Id, _yes, 10_00, "accepted", Clock.GetUtcNow(), null, null, null, null));
        var page = RenderPool(pool);
        await BetAsync(page, _yes, "10");
        page.WaitForAssertion(() => Assert.Contains("Bet accepted", page.Find("[data-testid=bet-placed]").TextContent));

        Clock.Advance(TimeSpan.FromSeconds(2)); // locked, and the page has not redrawn yet
        await page.FindAndClickAsync("[data-testid=odds-row][data-outcome=Yes] button.odds-pick");

        // The player still reads that their last-second bet went in.
        Assert.Contains("Bet accepted", page.Find("[data-testid=bet-placed]").TextContent);
    }

    /// <summary>The countdown shows 0:00, but the form stays until the page's next poll redraws it, up to 3 s on.</summary>
    [Fact]
    public async Task A_bet_sent_after_the_lock_time_from_the_form_still_shown_is_refused_at_once_and_nothing_goes()
    {
        var pool = OpenPool() with { LocksAt = Clock.GetUtcNow().AddSeconds(1) };
        Gateway.Answer("/api/bets", new Bet(Guid.NewGuid(), pool.Id, _yes, 10_00, "accepted", Clock.GetUtcNow(), null, null, null, null));
        var page = RenderPool(pool);
        await page.InvokeAsync(async () =>
        {
            await page.Find($"#outcome-{_yes:N}").ChangeAsync(_yes.ToString());
            await page.Find("[data-testid=stake]").InputAsync("10");
        });

        Clock.Advance(TimeSpan.FromSeconds(2)); // past the lock time, before the next poll
        await page.FindAndSubmitAsync("[data-testid=bet-form]");

        page.WaitForAssertion(() => Assert.Equal("pool-locked", page.Find("[data-testid=problem]").GetAttribute("data-code")));
        Assert.Empty(Gateway.Changes);
        Assert.Empty(Tab.SessionStorage);
        Assert.Empty(Bunit.JSInterop.Invocations["sessionStorage.setItem"]);
    }

    /// <summary>Sent a second before the lock, the bet had no answer, yet the Bet Engine may have placed it.</summary>
    [Fact]
    public async Task An_unanswered_bet_sent_again_after_the_lock_time_goes_under_its_key_and_shows_it_was_placed()
    {
        var pool = OpenPool() with { LocksAt = Clock.GetUtcNow().AddSeconds(1) };
        var page = await UnansweredBetAsync(pool, _yes, "10");

        Clock.Advance(TimeSpan.FromSeconds(1.5)); // past the lock time, before the next poll
        Gateway.Answer("/api/bets", new Bet(Guid.NewGuid(), pool.Id, _yes, 10_00, "accepted", Clock.GetUtcNow().AddSeconds(-2), null, null, null, null));
        await page.FindAndSubmitAsync("[data-testid=bet-form]"); // the form as it stayed: the same bet

        page.WaitForAssertion(() => Assert.Contains("Bet accepted", page.Find("[data-testid=bet-placed]").TextContent));
        Assert.Empty(page.FindAll("[data-testid=problem]"));
        var keys = Gateway.IdempotencyKeys("/api/bets");
        Assert.Equal(2, keys.Count);
        Assert.Equal(keys[0], keys[1]);
        page.WaitForAssertion(() => Assert.Empty(Tab.SessionStorage)); // answered: forgotten
    }

    /// <summary>Held back for the unanswered bet, a changed one would vanish: past the lock time the form and its notice go.</summary>
    [Fact]
    public async Task A_changed_bet_sent_after_the_lock_time_while_one_is_unanswered_is_refused_at_once_and_the_unanswered_one_stays()
    {
        var pool = OpenPool() with { LocksAt = Clock.GetUtcNow().AddSeconds(1) };
        var page = await UnansweredBetAsync(pool, _yes, "10");
        var kept = Assert.Single(Tab.SessionStorage);
        await page.InvokeAsync(() => page.Find("[data-testid=stake]").InputAsync("20")); // the player changes the stake

        Clock.Advance(TimeSpan.FromSeconds(1.5)); // past the lock time, before the next poll
        await page.FindAndSubmitAsync("[data-testid=bet-form]");

        page.WaitForAssertion(() => Assert.Equal("pool-locked", page.Find("[data-testid=problem]").GetAttribute("data-code")));
        Assert.Equal(["POST /api/bets"], Gateway.Changes);
        Assert.Equal(kept, Assert.Single(Tab.SessionStorage)); // the unanswered bet and its key, for a reload to find
    }

    [Fact]
    public async Task A_pending_bet_refused_after_a_newer_bet_was_accepted_names_itself_and_leaves_the_newer_bets_answer()
    {
        var pool = OpenPool();
        var first = new Bet(Guid.NewGuid(), pool.Id, _yes, 10_00, "pending", Clock.GetUtcNow(), null, null, null, null);
        Gateway.Answer("/api/bets", first);
        Gateway.Answer($"/api/bets/{first.BetId}", first);
        var page = RenderPool(pool);
        Gateway.Answer("/api/bets/mine", new BetPage([first], null));
        await BetAsync(page, _yes, "10");
        page.WaitForAssertion(() => Assert.Equal("pending", page.Find("[data-testid=my-bet]").GetAttribute("data-status")));

        // The player adds R$ 20, accepted at once; then recovery refuses the first: the wallet could not cover both.
        var second = new Bet(Guid.NewGuid(), pool.Id, _yes, 20_00, "accepted", Clock.GetUtcNow(), null, null, null, null);
        Gateway.Answer("/api/bets", second);
        Gateway.Answer("/api/bets/mine", new BetPage([second, first], null));
        await BetAsync(page, _yes, "20");
        page.WaitForAssertion(() => Assert.Contains(Money.Format(20_00), page.Find("[data-testid=bet-placed]").TextContent));
        Gateway.Answer($"/api/bets/{first.BetId}", first with { Status = "rejected", RejectionCode = "insufficient-funds" });
        Gateway.Answer("/api/bets/mine", new BetPage([second], null));
        await RunClockAsync(TimeSpan.FromSeconds(3));
        page.WaitForAssertion(() => Assert.Equal("accepted", page.Find("[data-testid=my-bet]").GetAttribute("data-status")));

        // The newer bet's confirmation stays, and the refusal says which bet it was.
        Assert.Contains($"Bet accepted: {Money.Format(20_00)}", Assert.Single(page.FindAll("[data-testid=bet-placed]")).TextContent);
        Assert.Empty(page.FindAll("[data-testid=problem]"));
        var earlier = page.Find("[data-testid=earlier-bet]");
        Assert.Equal("rejected", earlier.GetAttribute("data-status"));
        Assert.Contains($"Your earlier bet of {Money.Format(10_00)} on Yes was not placed", earlier.TextContent);
        Assert.Contains("Not enough money", earlier.TextContent);
    }

    [Fact]
    public void A_player_who_added_to_their_outcome_more_than_a_page_of_times_sees_their_whole_stake()
    {
        var pool = OpenPool();
        var bets = Enumerable.Range(0, 120)
            .Select(n => new Bet(Guid.NewGuid(), pool.Id, _yes, 1_00, "accepted", Clock.GetUtcNow().AddSeconds(-n), null, null, null, null))
            .ToArray();
        Gateway.Answer($"/api/pools/{pool.Id}", pool);
        Gateway.Answer("/api/bets/mine", new BetPage(bets[..100], "page-2"));
        Gateway.AnswerPage("/api/bets/mine", "page-2", new BetPage(bets[100..], null));

        var page = Bunit.Render<PoolPage>(parameters => parameters.Add(p => p.PoolId, pool.Id));

        page.WaitForAssertion(() => Assert.Contains($"Your bet: {Money.Format(120_00)} on Yes", page.Find("[data-testid=my-bet]").TextContent));
        Assert.Equal(2, Gateway.Requests.Count(p => p == "/api/bets/mine"));
    }

    private IRenderedComponent<PoolPage> RenderPool(Pool pool)
    {
        Gateway.Answer($"/api/pools/{pool.Id}", pool);
        Gateway.Answer("/api/bets/mine", new BetPage([], null));
        var page = Bunit.Render<PoolPage>(parameters => parameters.Add(p => p.PoolId, pool.Id));
        page.WaitForElement("[data-testid=bet-form]");
        return page;
    }

    /// <summary>The player follows a link to another pool: the same page, given the other pool's id.</summary>
    private static void MoveTo(IRenderedComponent<PoolPage> page, Pool pool)
    {
        page.Render(parameters => parameters.Add(p => p.PoolId, pool.Id));
        page.WaitForAssertion(() =>
        {
            Assert.Equal(pool.Title, page.Find("#pool-title").TextContent);
            page.Find("[data-testid=bet-form]");
        });
    }

    /// <summary>The player bets on the pool and gets no answer (503): the bet and its key stay, in the page and in the tab.</summary>
    private async Task<IRenderedComponent<PoolPage>> UnansweredBetAsync(Pool pool, Guid outcome, string stake)
    {
        Gateway.Refuse("/api/bets", 503, ApiProblem.Unavailable);
        var page = RenderPool(pool);
        await BetAsync(page, outcome, stake);
        page.WaitForAssertion(() => Assert.Equal(ApiProblem.Unavailable, page.Find("[data-testid=problem]").GetAttribute("data-code")));
        return page;
    }

    /// <summary>The form holds the unanswered R$10 on Yes again, and says it must be sent first.</summary>
    private void FormHoldsTheUnansweredBetFirst(IRenderedComponent<PoolPage> page)
    {
        page.WaitForAssertion(() => Assert.Contains(Money.Format(10_00), page.Find("[data-testid=resend-first]").TextContent));
        Assert.Contains("Yes", page.Find("[data-testid=resend-first]").TextContent);
        Assert.Equal(Money.ToInput(10_00), page.Find("[data-testid=stake]").GetAttribute("value"));
        Assert.True(page.Find($"#outcome-{_yes:N}").HasAttribute("checked"));
    }

    /// <summary>The player reloads the pool page: the page and its memory go, the browser tab and its session storage stay.</summary>
    private async Task<IRenderedComponent<PoolPage>> ReloadAsync(Pool pool)
    {
        await Bunit.DisposeComponentsAsync();
        return RenderPool(pool);
    }

    /// <summary>
    /// Picks the outcome, types the stake and submits, in one go on the page's renderer: the pool page renders by itself
    /// (its poll, a pending bet followed until decided, pushes), which may otherwise come between a Find and its event.
    /// The task ends when the bet's handler is done.
    /// </summary>
    private static Task BetAsync(IRenderedComponent<PoolPage> page, Guid outcome, string stake) => page.InvokeAsync(async () =>
    {
        await page.Find($"#outcome-{outcome:N}").ChangeAsync(outcome.ToString());
        await page.Find("[data-testid=stake]").InputAsync(stake);
        await page.Find("[data-testid=bet-form]").SubmitAsync();
    });

    /// <summary>Moves the page's clock on in small steps, giving each timer's work a moment to run.</summary>
    private async Task RunClockAsync(TimeSpan span)
    {
        for (var run = TimeSpan.Zero; run < span; run += Tick)
        {
            Clock.Advance(Tick);
            await Task.Delay(20);
        }
    }

    private Pool OpenPool() => new(
        Guid.NewGuid(), new PoolChannel("twitch", "streamer1"), Guid.NewGuid(), "Who wins?", "open", true,
        [new PoolOutcome(_yes, "Yes", 500_00, 9, null), new PoolOutcome(_no, "No", 500_00, 9, null)], 1_000_00, 1_00, 1_000_00, 500, 600,
        Clock.GetUtcNow(), Clock.GetUtcNow(), Clock.GetUtcNow().AddMinutes(10), null, null, [], null, null, null, 1);
}
