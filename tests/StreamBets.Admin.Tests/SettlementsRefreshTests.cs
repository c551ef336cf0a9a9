using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
using StreamBets.Admin.Components.Pages;
using StreamBets.Admin.Operations;

namespace StreamBets.Admin.Tests;

/// <summary>
/// The Settlements page reads what it shows again every 5 s, so an operator follows a big pool's payout, or a requeued
/// settlement, without reloading. The browser test watches a real settlement appear; these cover the pages and the
/// find-by-id it keeps.
/// </summary>
public sealed class SettlementsRefreshTests : ConsoleTest
{
    private static readonly TimeSpan RefreshEvery = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task The_list_is_read_again_from_its_start_as_far_as_the_pages_the_operator_opened()
    {
        var (paying, queued) = (Running(Guid.NewGuid(), settled: 400), Running(Guid.NewGuid(), settled: 0));
        Gateway.Answer("/api/settlements?limit=20&status=running", () => new SettlementPage([paying], "c1"));
        Gateway.Answer("/api/settlements?limit=20&status=running&cursor=c1", () => new SettlementPage([queued], null));
        Gateway.Answer("/api/pools?ids=", Array.Empty<PoolSummary>);
        Bunit.Services.GetRequiredService<NavigationManager>().NavigateTo("/settlements?status=running");
        var page = Bunit.Render<Settlements>();
        page.WaitForAssertion(() => Assert.Single(page.FindAll("[data-testid=settlement]")));
        await page.InvokeAsync(() => page.Find("button:not([type=submit])").ClickAsync(new())); // Show more
        page.WaitForAssertion(() => Assert.Equal(2, page.FindAll("[data-testid=settlement]").Count));

        // Meanwhile the first pool paid more of its bets, and the second pool's settlement finished.
        Gateway.Answer("/api/settlements?limit=20&status=running", () => new SettlementPage([paying with { SettledBets = 900 }], "c1"));
        Gateway.Answer("/api/settlements?limit=20&status=running&cursor=c1", () => new SettlementPage([queued with { Status = "settled", SettledBets = 1_000 }], null));
        Clock.Advance(RefreshEvery);

        page.WaitForAssertion(() => Assert.Contains("900 of 1000", Row(page, paying.PoolId).TextContent));
        Assert.Equal("settled", Row(page, queued.PoolId).GetAttribute("data-status"));
        Assert.Equal(2, page.FindAll("[data-testid=settlement]").Count);
        Assert.Equal(2, Gateway.Requests.Count(r => r.StartsWith("GET /api/settlements?limit=20&status=running&cursor=c1", StringComparison.Ordinal)));
        Assert.Contains("Updated", page.Find("[data-testid=read-at]").TextContent);
    }

    [Fact]
    public async Task A_settlement_found_by_id_is_read_again_alone()
    {
        var listed = Failed(Guid.NewGuid());
        var sought = Running(Guid.NewGuid(), settled: 100);
        Gateway.Answer("/api/settlements?limit=20&status=failed", () => new SettlementPage([listed], null));
        Gateway.Answer($"/api/settlements/{sought.PoolId}", () => sought);
        Gateway.Answer("/api/pools?ids=", Array.Empty<PoolSummary>);
        var page = Bunit.Render<Settlements>();
        page.WaitForAssertion(() => Assert.Single(page.FindAll("[data-testid=settlement]")));
        page.Find("#pool-id").Change(sought.PoolId.ToString());
        await page.Find("[data-testid=find-settlement]").SubmitAsync();
        page.WaitForAssertion(() => Row(page, sought.PoolId));
        var listReads = Gateway.Requests.Count(r => r.StartsWith("GET /api/settlements?", StringComparison.Ordinal));

        Gateway.Answer($"/api/settlements/{sought.PoolId}", () => sought with { Status = "settled", SettledBets = 1_000 });
        Clock.Advance(RefreshEvery);

        page.WaitForAssertion(() => Assert.Equal("settled", Row(page, sought.PoolId).GetAttribute("data-status")));
        Assert.Single(page.FindAll("[data-testid=settlement]"));
        Assert.Equal(listReads, Gateway.Requests.Count(r => r.StartsWith("GET /api/settlements?", StringComparison.Ordinal)));
    }

    [Fact]
    public void A_failed_read_says_so_beside_the_rows_it_keeps_until_the_operator_changes_tab()
    {
        var paying = Running(Guid.NewGuid(), settled: 400);
        Gateway.Answer("/api/settlements?limit=20&status=running", () => new SettlementPage([paying], null));
        Gateway.Answer("/api/settlements?limit=20&status=settled", () => new SettlementPage([], null));
        Gateway.Answer("/api/pools?ids=", Array.Empty<PoolSummary>);
        var navigation = Bunit.Services.GetRequiredService<NavigationManager>();
        navigation.NavigateTo("/settlements?status=running");
        var page = Bunit.Render<Settlements>();
        page.WaitForAssertion(() => Assert.Single(page.FindAll("[data-testid=settlement]")));

        Gateway.Forget("/api/settlements?limit=20&status=running");
        Clock.Advance(RefreshEvery);
        page.WaitForAssertion(() => Assert.Single(page.FindAll("[data-testid=problem]")));
        Assert.Single(page.FindAll("[data-testid=settlement]"));

        navigation.NavigateTo("/settlements?status=settled");
        page.WaitForAssertion(() => Assert.Single(page.FindAll("[data-testid=no-settlements]")));
        Assert.Empty(page.FindAll("[data-testid=problem]"));
    }

    [Fact]
    public async Task Show_more_sent_before_a_timed_read_lands_never_skips_or_repeats_a_row()
    {
        var (first, second, newest) = (Failed(Guid.NewGuid()), Failed(Guid.NewGuid()), Failed(Guid.NewGuid()));
        Gateway.Answer("/api/settlements?limit=20&status=failed", () => new SettlementPage([first], "c1"));
        Gateway.Answer("/api/settlements?limit=20&status=failed&cursor=c1", () => new SettlementPage([second], null));
        Gateway.Answer("/api/pools?ids=", Array.Empty<PoolSummary>);
        var page = Bunit.Render<Settlements>();
        page.WaitForAssertion(() => Assert.Single(page.FindAll("[data-testid=settlement]")));

        // The timed read finds a newer failure on top, which pushes the first one to the next page.
        var timedRead = Gateway.HoldNext("/api/settlements?limit=20&status=failed");
        Clock.Advance(RefreshEvery);
        await Gateway.WaitForRequestAsync("GET /api/settlements?limit=20&status=failed", count: 2);
        var moreAnswer = Gateway.HoldNext("/api/settlements?limit=20&status=failed&cursor=c1");
        var more = page.InvokeAsync(() => page.FindAll("button").Single(b => b.TextContent == "Show more").ClickAsync(new()));
        await Gateway.WaitForRequestAsync("GET /api/settlements?limit=20&status=failed&cursor=c1");
        Gateway.Answer("/api/settlements?limit=20&status=failed", () => new SettlementPage([newest], "c0"));
        Gateway.Answer("/api/settlements?limit=20&status=failed&cursor=c0", () => new SettlementPage([first], "c1"));
        timedRead.SetResult();
        page.WaitForAssertion(() => Row(page, newest.PoolId));
        moreAnswer.SetResult();
        await more;

        page.WaitForAssertion(() => Assert.Equal([newest.PoolId, first.PoolId],
            page.FindAll("[data-testid=settlement]").Select(r => Guid.Parse(r.GetAttribute("data-pool-id")!))));
    }

    private static AngleSharp.Dom.IElement Row(IRenderedComponent<Settlements> page, Guid poolId) => page.Find($"[data-testid=settlement][data-pool-id='{poolId}']");

    private static Settlement Running(Guid poolId, long settled) =>
        new(poolId, "resolved", "running", 1, null, DateTimeOffset.UtcNow.AddMinutes(-1), null, 1_000, settled, null, null, null, null);
}
