using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StreamBets.BetEngine.Placement;
using StreamBets.BetEngine.Pools;
using PoolsClient = StreamBets.Contracts.Pools.Pools.PoolsClient;

namespace StreamBets.BetEngine.Tests;

/// <summary>The pool directory's closing overlay: final while a snapshot from before the closing may be served, then gone.</summary>
[Collection(StackCollection.Name)]
public sealed class PoolDirectoryTests(BetEngineStack stack)
{
    [Fact]
    public async Task A_closed_pool_refuses_bets_whatever_a_stale_snapshot_says_and_its_overlay_goes_once_no_such_snapshot_can_be_served()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var directory = new GrpcPoolDirectory(stack.BetEngine.GetRequiredService<PoolsClient>(), clock,
            Options.Create(new BetEngineOptions { PoolCacheDuration = TimeSpan.FromSeconds(2) }));
        // Pools still says open: the stale snapshot a fetch in flight when PoolLocked arrived would bring back.
        var pool = await stack.NewPoolAsync();
        Assert.Equal(PoolState.Open, (await directory.GetAsync(pool.Id, default))!.State);

        directory.MarkClosed(pool.Id, PoolState.Locked);
        for (var i = 0; i < 50; i++)
        {
            directory.MarkClosed(Guid.NewGuid(), PoolState.Cancelled);
        }
        directory.Invalidate(pool.Id); // a late PoolOpened

        // Until a call timeout (5 s) and the cache time (2 s) have passed, the closing stands.
        clock.Advance(TimeSpan.FromSeconds(6.9));
        foreach (var snapshot in new[] { await directory.GetAsync(pool.Id, default), await directory.GetFreshAsync(pool.Id, default) })
        {
            Assert.Equal(PoolState.Locked, snapshot!.State);
            var bet = new PlaceBetCommand(Guid.NewGuid(), pool.Id, pool.Outcomes[0], 500, "closed");
            Assert.Equal(BetRejectionCodes.PoolLocked, BetRules.Check(bet, snapshot, clock.GetUtcNow())?.Code);
        }
        Assert.Equal(51, directory.ClosedOverlayCount);

        // Then every snapshot was fetched after the closing, which Pools commits before publishing it: the overlays go.
        clock.Advance(TimeSpan.FromSeconds(0.1));
        directory.MarkClosed(Guid.NewGuid(), PoolState.Locked);
        Assert.Equal(1, directory.ClosedOverlayCount);
        Assert.Equal(PoolState.Open, (await directory.GetFreshAsync(pool.Id, default))!.State); // Pools' word (still open here) stands
    }
}
