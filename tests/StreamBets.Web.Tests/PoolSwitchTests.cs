using Bunit;
using Microsoft.Extensions.DependencyInjection;
using StreamBets.FrontEnd;
using StreamBets.FrontEnd.Gateway;
using StreamBets.Web.Components.Pages;
using StreamBets.Web.Gateway;
using StreamBets.Web.Live;

namespace StreamBets.Web.Tests;

/// <summary>
/// The pool page moved to another pool while the hub is still letting go of the first: a render in between shows nothing
/// of the first pool with the second's bet, which would end the player's session.
/// </summary>
public sealed class PoolSwitchTests : ConnectedPageTest
{
    [Fact]
    public async Task Moving_to_a_pool_whose_unanswered_bet_the_tab_holds_keeps_the_session_while_the_hub_lets_go_of_the_first()
    {
        var (poolA, poolB) = (OpenPool("Pool A"), OpenPool("Pool B"));
        Gateway.Answer($"/api/pools/{poolA.Id}", poolA);
        Gateway.Answer($"/api/pools/{poolB.Id}", poolB);
        Gateway.Answer("/api/bets/mine", new BetPage([], null));
        Bunit.JSInterop.Mode = JSRuntimeMode.Loose;
        Bunit.Services.AddScoped<WalletState>();

        // A bet on pool B had no answer: the tab keeps it, on B's outcome.
        Gateway.Refuse("/api/bets", 503, ApiProblem.Unavailable);
        var page = Bunit.Render<PoolPage>(parameters => parameters.Add(p => p.PoolId, poolB.Id));
        page.WaitForElement("[data-testid=bet-form]");
        var outcomeB = poolB.Outcomes[0].Id;
        await page.InvokeAsync(async () =>
        {
            await page.Find($"#outcome-{outcomeB:N}").ChangeAsync(outcomeB.ToString());
            await page.Find("[data-testid=stake]").InputAsync("20");
            await page.Find("[data-testid=bet-form]").SubmitAsync();
        });
        page.WaitForAssertion(() => Assert.Equal(ApiProblem.Unavailable, page.Find("[data-testid=problem]").GetAttribute("data-code")));
        Assert.Single(Tab.SessionStorage);
        MoveTo(page, poolA);

        // Back to B, while the hub is slow to answer the unwatch of A: the tab gives B's bet back meanwhile.
        var release = Hub.Hold("UnwatchPool");
        var tabReads = Bunit.JSInterop.Invocations["sessionStorage.getItem"].Count;
        // Not awaited yet: a render that throws here would leave it hanging, not failing.
        var moving = page.InvokeAsync(() => page.Render(parameters => parameters.Add(p => p.PoolId, poolB.Id)));
        Assert.True(await SoonAsync(() => Hub.Calls.Contains($"UnwatchPool {poolA.Id}")));
        Assert.True(await SoonAsync(() => Bunit.JSInterop.Invocations["sessionStorage.getItem"].Count > tabReads));
        await Task.Delay(300); // the restored bet renders
        release(); // before any assertion: a held hub call would keep the test from ending

        if (Bunit.Renderer.UnhandledException.IsCompleted)
        {
            Assert.Fail($"The render threw, which ends the player's circuit: {await Bunit.Renderer.UnhandledException}");
        }
        await moving;
        page.WaitForAssertion(() =>
        {
            Assert.Equal("Pool B", page.Find("#pool-title").TextContent);
            Assert.Contains(Money.Format(20_00), page.Find("[data-testid=resend-first]").TextContent);
        });
        Assert.False(Bunit.Renderer.UnhandledException.IsCompleted);
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

    /// <summary>An open pool with outcomes of its own.</summary>
    private Pool OpenPool(string title) => new(
        Guid.NewGuid(), new PoolChannel("twitch", "streamer1"), Guid.NewGuid(), title, "open", true,
        [new PoolOutcome(Guid.NewGuid(), "Yes", 500_00, 9, null), new PoolOutcome(Guid.NewGuid(), "No", 500_00, 9, null)], 1_000_00, 1_00, 1_000_00, 500, 600,
        Clock.GetUtcNow(), Clock.GetUtcNow(), Clock.GetUtcNow().AddMinutes(10), null, null, [], null, null, null, 1);
}
