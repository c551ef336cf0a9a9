using Bunit;
using Microsoft.Extensions.DependencyInjection;
using StreamBets.Web.Components.Pages;
using StreamBets.Web.Components.Shared;
using StreamBets.Web.Gateway;
using StreamBets.Web.Live;

namespace StreamBets.Web.Tests;

/// <summary>
/// A pool resolved to an outcome nobody backed, or in which only one side was backed, is settled as a refund of every
/// stake with no rake (PayoutRule.ForResolved). Nothing in Pools' view or the PoolSettled push says so: the result line
/// works it out from the pool's final stakes and winners by the rule the payout estimate uses. Before, it read
/// "Winner: No · Paid out …".
/// </summary>
public sealed class RefundedResultTests : PlayerPageTest
{
    [Theory]
    [InlineData(10_00, 0, 1, true)] // nobody backed the winner
    [InlineData(10_00, 0, 0, true)] // nobody backed the loser
    [InlineData(10_00, 5_00, 0, false)]
    [InlineData(0, 0, 0, false)] // nobody backed anything: nothing was refunded
    public void A_channels_recent_result_says_refunded_when_the_pool_was_settled_as_a_refund(long onYes, long onNo, int winner, bool refunded)
    {
        var pool = Resolved(onYes, onNo, winner);

        var results = Bunit.Render<RecentResults>(parameters => parameters.Add(p => p.Pools, [pool]));

        var line = results.Find("[data-testid=finished-pool]");
        Assert.Equal(refunded, line.QuerySelector("[data-testid=refunded-result]") is not null);
        Assert.StartsWith(refunded ? "Refunded " : "Paid out ", line.QuerySelector("[data-testid=settlement]")!.TextContent);
    }

    [Fact]
    public void A_result_not_paid_yet_says_it_is_being_refunded()
    {
        var pool = Resolved(10_00, 0, 1) with { Settlement = "pending", SettledAt = null };

        var results = Bunit.Render<RecentResults>(parameters => parameters.Add(p => p.Pools, [pool]));

        Assert.Equal("Refunding…", results.Find("[data-testid=settlement]").TextContent);
    }

    [Theory]
    [InlineData(10_00, 0, 1, true)]
    [InlineData(10_00, 5_00, 0, false)]
    [InlineData(0, 0, 0, false)] // nobody backed anything: nothing was refunded
    public void A_pool_page_says_refunded_when_its_result_was_settled_as_a_refund(long onYes, long onNo, int winner, bool refunded)
    {
        var pool = Resolved(onYes, onNo, winner);
        Gateway.Answer($"/api/pools/{pool.Id}", pool);
        Gateway.Answer("/api/bets/mine", new BetPage([], null));
        Bunit.JSInterop.Mode = JSRuntimeMode.Loose;
        Bunit.AddAuthorization().SetAuthorized("Ana"); // the chat beside the pool
        Bunit.Services.AddSingleton(new WalletState(Client, Live, PageTime));

        var page = Bunit.Render<PoolPage>(parameters => parameters.Add(p => p.PoolId, pool.Id));

        page.WaitForAssertion(() => Assert.Equal("resolved", page.Find("[data-testid=pool-state]").GetAttribute("data-state")));
        var state = page.Find("[data-testid=pool-state]");
        Assert.Equal(refunded, state.QuerySelector("[data-testid=refunded-result]") is not null);
        Assert.StartsWith(refunded ? "Refunded " : "Paid out ", state.QuerySelector("[data-testid=settlement]")!.TextContent);
    }

    private Pool Resolved(long onYes, long onNo, int winner)
    {
        PoolOutcome[] outcomes = [new(Guid.NewGuid(), "Yes", onYes, onYes > 0 ? 1 : 0, null), new(Guid.NewGuid(), "No", onNo, onNo > 0 ? 1 : 0, null)];
        var now = Clock.GetUtcNow();
        return new Pool(
            Guid.NewGuid(), new PoolChannel("twitch", "streamer1"), Guid.NewGuid(), "Who wins?", "resolved", false, outcomes, onYes + onNo,
            1_00, 1_000_00, 500, 60, now.AddMinutes(-10), now.AddMinutes(-10), now.AddMinutes(-8), now.AddMinutes(-8), now.AddMinutes(-2),
            [outcomes[winner].Id], null, "settled", now.AddMinutes(-1), 4);
    }
}
