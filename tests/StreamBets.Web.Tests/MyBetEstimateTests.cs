using Bunit;
using Microsoft.Extensions.DependencyInjection;
using StreamBets.FrontEnd;
using StreamBets.Web.Components.Pages;
using StreamBets.Web.Gateway;
using StreamBets.Web.Live;

namespace StreamBets.Web.Tests;

/// <summary>
/// The pool page's line about the player's bet says what it pays if it wins, and never more than settlement would: Pools
/// counts a bet from its BetsPlaced event, so a read just after the bet may not hold it yet.
/// </summary>
public sealed class MyBetEstimateTests : PlayerPageTest
{
    private readonly Guid _a = Guid.NewGuid();

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Bunit.JSInterop.Mode = JSRuntimeMode.Loose;
        Bunit.AddAuthorization().SetAuthorized("Ana");
        Bunit.Services.AddSingleton(new WalletState(Client, Live, PageTime));
    }

    [Fact]
    public void A_bet_the_read_does_not_count_yet_is_not_estimated_above_what_settlement_pays()
    {
        // Pools reads 1,000 in all with 400 on A, before it counts the player's 100 on A. Settled as things stand, the
        // pool is 1,100 with 500 on A: rake 55, net 1,045, and the 100 is paid 209. Taking the 100 out of the read's
        // totals, as if counted, would say 237.50.
        var pool = new Pool(
            Guid.NewGuid(), new PoolChannel("twitch", "streamer1"), Guid.NewGuid(), "Who wins?", "open", true,
            [new PoolOutcome(_a, "A", 400_00, 4, null), new PoolOutcome(Guid.NewGuid(), "B", 600_00, 6, null)], 1_000_00, 1_00, 1_000_00, 500, 600,
            Clock.GetUtcNow(), Clock.GetUtcNow(), Clock.GetUtcNow().AddMinutes(10), null, null, [], null, null, null, 1);
        var mine = new Bet(Guid.NewGuid(), pool.Id, _a, 100_00, "accepted", Clock.GetUtcNow(), null, null, null, null);
        Gateway.Answer($"/api/pools/{pool.Id}", pool);
        Gateway.Answer("/api/bets/mine", new BetPage([mine], null));

        var page = Bunit.Render<PoolPage>(parameters => parameters.Add(p => p.PoolId, pool.Id));

        page.WaitForAssertion(() => Assert.Contains($"pays about {Money.Format(209_00)} if it wins", page.Find("[data-testid=my-bet]").TextContent));
    }
}
