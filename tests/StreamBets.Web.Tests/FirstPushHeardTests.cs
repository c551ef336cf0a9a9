using Bunit;
using StreamBets.Web.Components.Pages;
using StreamBets.Web.Gateway;
using StreamBets.Web.Live;

namespace StreamBets.Web.Tests;

/// <summary>
/// A stream starts at the first message the circuit hears, but two Realtime replicas interleave: the one numbered just
/// before it may come a moment later, and is news, not a duplicate (docs/realtime.md, "Sequences and catching up").
/// </summary>
public sealed class FirstPushHeardTests : ConnectedPageTest
{
    private const string BetsPath = "/api/bets/mine";

    [Fact]
    public async Task A_settlement_numbered_before_the_first_one_heard_but_pushed_after_it_is_shown_once()
    {
        Bunit.JSInterop.Setup<string?>(PlayerClock.ZoneFunction).SetResult("UTC");
        var (first, second) = (ABet(5_00), ABet(7_00));
        Gateway.Answer(BetsPath, new BetPage([second, first], null));
        var raised = new List<Guid>();
        Live.BetSettled += settled =>
        {
            lock (raised)
            {
                raised.Add(settled.BetId);
            }
        };
        var page = Bunit.Render<MyBets>();
        page.WaitForAssertion(() => Assert.Equal(2, page.FindAll("[data-testid=my-bet-row]").Count));

        // One pool settles both bets: replica 1 pushes #9, replica 2 #10, and the circuit, which heard nothing on its user
        // stream yet, hears #10 first. Each is then pushed again, as redelivered events are.
        await Hub.PushAsync("BetSettled", Settled(second, 10));
        await Hub.PushAsync("BetSettled", Settled(first, 9));
        await Hub.PushAsync("BetSettled", Settled(second, 10));
        await Hub.PushAsync("BetSettled", Settled(first, 9));

        Assert.True(await SoonAsync(() =>
        {
            Clock.Advance(PushBurst<BetSettledMessage>.Window);
            return page.FindAll("[data-testid=my-bet-row]").All(row => row.TextContent.Contains("Won"));
        }), page.Markup);
        // Past the catch-up a duplicate push asks for (after #10: nothing new), each bet was raised once.
        Assert.True(await SoonAsync(() => Hub.Calls.Contains("CatchUp user 10")));
        Assert.True(await StaysAsync(() => Raised().Order().SequenceEqual(new[] { first.BetId, second.BetId }.Order())), string.Join(", ", Raised()));

        IReadOnlyList<Guid> Raised()
        {
            lock (raised)
            {
                return [.. raised];
            }
        }
    }

    private BetSettledMessage Settled(Bet bet, long sequence) =>
        new(bet.BetId, bet.PoolId, "won", bet.StakeMinor, bet.StakeMinor * 2, Clock.GetUtcNow()) { Stream = "user", Sequence = sequence };

    private Bet ABet(long stakeMinor) =>
        new(Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), stakeMinor, "accepted", Clock.GetUtcNow(), null, null, null, null);
}
