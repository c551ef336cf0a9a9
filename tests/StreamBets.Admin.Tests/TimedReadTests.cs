using Bunit;
using StreamBets.Admin.Components.Pages;
using StreamBets.Admin.Operations;

namespace StreamBets.Admin.Tests;

/// <summary>
/// The pages that read what they show every 5 s (Live pools, Settlements) never let a read undo an operator's action:
/// a read that was on its way when the action answered holds the rows as they were before it. Before, a cancelled pool
/// came back with live buttons, and a requeued settlement showed failed again. Nor does a read that shifts the rows
/// hand one pool's buttons to another: before, a Lock clicked as a read dropped its pool locked the pool below. Nor does
/// a read that finds a pool locked leave its row without buttons: before, its open Lock confirmation hid Cancel too.
/// Nor does a cancel say it refunds the bets of the last read: before, bets placed since were left out of its count.
/// </summary>
public sealed class TimedReadTests : ConsoleTest
{
    private static readonly TimeSpan RefreshEvery = TimeSpan.FromSeconds(5);

    /// <summary>Live pools showing two pools, the first one's cancel answered at once, and the timer's read held.</summary>
    private async Task<(IRenderedComponent<LivePools> Page, PoolSummary Cancelled, PoolSummary Other, string Row, TaskCompletionSource SlowRead)>
        LivePoolsWithATimedReadOnItsWayAsync()
    {
        var (cancelled, other) = (LivePool("Who wins the round?"), LivePool("First blood?"));
        Gateway.Answer("/api/pools/admin/live", () => new[] { cancelled, other });
        Gateway.Answer($"/api/pools/{cancelled.Id}/cancel", () => cancelled with { State = "Cancelled", BettingOpen = false });
        var page = Bunit.Render<LivePools>();
        page.WaitForAssertion(() => Assert.Equal(2, page.FindAll("[data-testid=live-pool]").Count));
        var slowRead = Gateway.HoldNext("/api/pools/admin/live");
        Clock.Advance(RefreshEvery);
        await Gateway.WaitForRequestAsync("GET /api/pools/admin/live", count: 2);
        return (page, cancelled, other, $"[data-pool-id='{cancelled.Id}']", slowRead);
    }

    [Fact]
    public async Task A_timed_read_begun_before_a_cancel_never_brings_the_cancelled_pool_back_to_life()
    {
        var (page, cancelled, other, row, slowRead) = await LivePoolsWithATimedReadOnItsWayAsync();

        await page.InvokeAsync(() => Button(page, row, "Cancel").ClickAsync(new()));
        await page.InvokeAsync(() => Button(page, row, "Refund").ClickAsync(new()));
        Assert.Contains("is cancelled", page.Find("[data-testid=message]").TextContent);

        var renders = page.RenderCount;
        slowRead.SetResult(); // answered with the pools as they were before the cancel
        page.WaitForState(() => page.RenderCount > renders);

        // Marked where it was, without buttons, until a read begun after the cancel leaves it out.
        Assert.Equal([cancelled.Id.ToString(), other.Id.ToString()], page.FindAll("[data-testid=live-pool]").Select(r => r.GetAttribute("data-pool-id")));
        Assert.StartsWith("Cancelled", page.Find(row).GetAttribute("data-result"));
        Assert.Empty(page.FindAll($"{row} button"));
        Gateway.Answer("/api/pools/admin/live", () => new[] { other });
        Clock.Advance(RefreshEvery);
        page.WaitForState(() => page.FindAll("[data-testid=live-pool]").Count == 1);
    }

    [Fact]
    public async Task A_timed_read_that_lands_while_a_cancel_is_on_its_way_leaves_the_buttons_disabled()
    {
        var (page, cancelled, other, row, slowRead) = await LivePoolsWithATimedReadOnItsWayAsync();

        var slowCancel = Gateway.HoldNext($"/api/pools/{cancelled.Id}/cancel");
        await page.InvokeAsync(() => Button(page, row, "Cancel").ClickAsync(new()));
        var cancelling = page.InvokeAsync(() => Button(page, row, "Refund").ClickAsync(new()));
        await Gateway.WaitForRequestAsync($"POST /api/pools/{cancelled.Id}/cancel");
        var renders = page.RenderCount;
        slowRead.SetResult();
        page.WaitForState(() => page.RenderCount > renders);

        Assert.True(Button(page, $"[data-pool-id='{other.Id}']", "Lock").HasAttribute("disabled"), "A read re-enabled the buttons while a cancel was on its way.");
        slowCancel.SetResult();
        await cancelling;
        Assert.StartsWith("Cancelled", page.Find(row).GetAttribute("data-result"));
        Assert.Empty(page.FindAll($"{row} button"));
        Assert.False(Button(page, $"[data-pool-id='{other.Id}']", "Lock").HasAttribute("disabled"));
    }

    [Fact]
    public async Task A_lock_clicked_where_a_read_just_dropped_its_pool_never_locks_the_pool_now_there_and_the_confirmation_names_it()
    {
        var (gone, below) = (LivePool("Who wins the round?"), LivePool("First blood?"));
        Gateway.Answer("/api/pools/admin/live", () => new[] { gone, below });
        Gateway.Answer($"/api/pools/{below.Id}/lock", () => below with { State = "Locked", BettingOpen = false });
        var page = Bunit.Render<LivePools>();
        page.WaitForAssertion(() => Assert.Equal(2, page.FindAll("[data-testid=live-pool]").Count));
        // The first row's Lock, wherever the operator's pointer is: bUnit finds it again by place at the click.
        var lockAtTheTop = page.Find("[data-testid=live-pool]:first-child button:not(.danger)");
        Assert.Equal(gone.Id.ToString(), page.FindAll("[data-testid=live-pool]")[0].GetAttribute("data-pool-id"));

        Gateway.Answer("/api/pools/admin/live", () => new[] { below }); // the first pool resolved meanwhile
        Clock.Advance(RefreshEvery);
        await Gateway.WaitForRequestAsync("GET /api/pools/admin/live", count: 2);
        page.WaitForState(() => page.FindAll("[data-testid=live-pool]").Count == 1);
        await lockAtTheTop.ClickAsync(new()); // meant for the pool that was there

        // The pool now there is not locked: its confirmation opens instead, naming it, and takes the keyboard (on Keep).
        Assert.DoesNotContain(Gateway.Requests, r => r.StartsWith("POST", StringComparison.Ordinal));
        var belowRow = $"[data-pool-id='{below.Id}']";
        var confirm = page.Find($"{belowRow} [data-testid=confirm]");
        Assert.Equal("alertdialog", confirm.GetAttribute("role"));
        Assert.Equal($"Lock \"First blood?\" ({below.Channel})", Confirmation(page, belowRow).TextContent);
        Assert.Equal(Dismissal(page, belowRow).GetAttribute("blazor:elementReference"), FocusedLast());
        await page.InvokeAsync(() => Confirmation(page, belowRow).ClickAsync(new()));
        Assert.Single(Gateway.Requests, r => r == $"POST /api/pools/{below.Id}/lock");
        Assert.Equal("Locked", page.Find(belowRow).GetAttribute("data-result"));
        Assert.Equal(page.Find("[data-testid=message]").GetAttribute("blazor:elementReference"), FocusedLast());
    }

    [Fact]
    public async Task A_pool_that_locks_while_its_Lock_is_asked_closes_the_confirmation_and_keeps_its_Cancel()
    {
        var (page, pool, row) = LivePoolsWithOneToLock();
        await page.InvokeAsync(() => Button(page, row, "Lock").ClickAsync(new()));

        Gateway.Answer("/api/pools/admin/live", () => new[] { pool with { State = "Locked", BettingOpen = false } }); // its lock time came
        Clock.Advance(RefreshEvery);
        page.WaitForAssertion(() => Assert.Equal("Locked", page.Find(row).GetAttribute("data-state")));

        // Before, the confirmation stayed asked on a pool that can no longer be locked: neither it nor Cancel was drawn.
        Assert.Empty(page.FindAll("[data-testid=confirm]"));
        Assert.Equal(["Cancel"], page.FindAll($"{row} button").Select(b => b.TextContent));
        Assert.Contains("was locked meanwhile (your Lock was not sent)", page.Find("[data-testid=message]").TextContent);
        // The message takes focus after the render that shows it (OnAfterRender), a moment after the row reads Locked.
        page.WaitForAssertion(() => Assert.Equal(page.Find("[data-testid=message]").GetAttribute("blazor:elementReference"), FocusedLast()));
        Assert.DoesNotContain(Gateway.Requests, r => r.StartsWith("POST", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Keep_closes_a_confirmation_and_gives_the_keyboard_back_to_the_button_that_opened_it()
    {
        var (page, pool, row) = LivePoolsWithOneToLock();

        await page.InvokeAsync(() => Button(page, row, "Cancel").ClickAsync(new()));
        Assert.Equal($"Refund 3 bets of \"{pool.Title}\" ({pool.Channel})", Confirmation(page, row).TextContent);
        await page.InvokeAsync(() => Button(page, row, "Keep").ClickAsync(new()));

        Assert.Empty(page.FindAll("[data-testid=confirm]"));
        Assert.Equal(Button(page, row, "Cancel").GetAttribute("blazor:elementReference"), FocusedLast());
        Assert.DoesNotContain(Gateway.Requests, r => r.StartsWith("POST", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Live_pools_are_read_again_after_a_read_that_failed_unexpectedly()
    {
        var pool = LivePool("Who wins the round?");
        Gateway.Answer("/api/pools/admin/live", () => new[] { pool });
        var page = Bunit.Render<LivePools>();
        page.WaitForAssertion(() => Assert.Single(page.FindAll("[data-testid=live-pool]")));

        Gateway.Throw("/api/pools/admin/live", () => new InvalidOperationException("a defect, not an outage"));
        Clock.Advance(RefreshEvery);
        await Gateway.WaitForRequestAsync("GET /api/pools/admin/live", count: 2);
        Gateway.Answer("/api/pools/admin/live", () => new[] { pool with { TotalStakedMinor = 90_00 } });

        // The failed read ends in its own time; the timer goes on ticking until a read shows the new stake.
        for (var tick = 0; !page.Find($"[data-pool-id='{pool.Id}']").TextContent.Contains("90.00", StringComparison.Ordinal); tick++)
        {
            Assert.True(tick < 100, "The page no longer reads its pools.");
            Clock.Advance(RefreshEvery);
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task A_timed_read_begun_before_a_requeue_never_shows_the_settlement_failed_again()
    {
        var poolId = Guid.NewGuid();
        OneFailedSettlementToRequeue(poolId);
        var page = Bunit.Render<Settlements>();
        var row = $"[data-pool-id='{poolId}']";
        page.WaitForAssertion(() => Button(page, row, "Requeue"));
        var slowRead = Gateway.HoldNext("/api/settlements?limit=20&status=failed");
        Clock.Advance(RefreshEvery);
        await Gateway.WaitForRequestAsync("GET /api/settlements?limit=20&status=failed", count: 2);

        await ConfirmAsync(page, row, "Requeue");
        Assert.Equal("due", page.Find(row).GetAttribute("data-status"));

        var renders = page.RenderCount;
        slowRead.SetResult(); // answered with the settlement as it was before the requeue
        page.WaitForState(() => page.RenderCount > renders);

        Assert.Equal("due", page.Find(row).GetAttribute("data-status"));
        Assert.Empty(page.FindAll($"{row} button"));
    }

    [Fact]
    public async Task A_cancel_counts_the_bets_it_refunds_as_Pools_answered_not_as_the_last_read()
    {
        var live = LivePool("Who wins the round?");
        var pool = live with { Outcomes = [live.Outcomes[0] with { BetCount = 1 }, live.Outcomes[1] with { BetCount = 0 }] }; // 1 bet at the read
        Gateway.Answer("/api/pools/admin/live", () => new[] { pool });
        // Four more bets came in between the read and the cancel: the cancel refunds them too.
        Gateway.Answer($"/api/pools/{pool.Id}/cancel", () => pool with
        {
            State = "Cancelled", BettingOpen = false, Outcomes = [pool.Outcomes[0] with { BetCount = 3 }, pool.Outcomes[1] with { BetCount = 2 }],
        });
        var page = Bunit.Render<LivePools>();
        var row = $"[data-pool-id='{pool.Id}']";
        page.WaitForAssertion(() => Button(page, row, "Cancel"));

        await ConfirmAsync(page, row, "Cancel");

        Assert.Contains("is cancelled: 5 bets being refunded", page.Find("[data-testid=message]").TextContent);
        Assert.Equal("Cancelled: 5 bets being refunded", page.Find(row).GetAttribute("data-result"));
    }
}
