using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using StreamBets.Realtime.Hubs;
using StreamBets.Realtime.Live;
using StreamBets.Realtime.Odds;

namespace StreamBets.Realtime.Tests;

[Collection(StackCollection.Name)]
public sealed class OddsCoalescingTests(RealtimeStack stack)
{
    [Fact]
    public async Task A_burst_of_1000_odds_changes_reaches_watchers_as_a_few_pushes_ending_with_the_latest()
    {
        var poolId = Guid.NewGuid();
        await using var onA = await stack.ConnectAsync();
        await using var onB = await stack.ConnectAsync(toHostB: true);
        await onA.InvokeAsync("WatchPool", poolId);
        await onB.InvokeAsync("WatchPool", poolId);
        var start = DateTimeOffset.UtcNow;
        var burst = Enumerable.Range(1, 1_000).Select(i => TestEvents.Odds(poolId, i * 100L, start.AddMilliseconds(i))).ToArray();
        var clock = Stopwatch.StartNew();

        await stack.Bus.PublishAsync(burst);

        foreach (var client in new[] { onA, onB })
        {
            await client.WaitForAsync("OddsChanged", p => p.Number("totalStakedMinor") == 100_000);
        }
        // Once neither replica holds the pool, no push is still queued behind the latest; every push made is numbered
        // in the replay, so both watchers have all of them once they have that many.
        Assert.True(await BothReplicasLetEveryPoolGoAsync(), "A replica still holds odds to push.");
        var elapsed = clock.Elapsed;
        var made = (await onA.InvokeAsync<List<JsonElement>>("CatchUp", $"pool:{poolId}", 0L)).Count;
        await onA.WaitForCountAsync("OddsChanged", made);
        await onB.WaitForCountAsync("OddsChanged", made);
        var pushes = onA.Received("OddsChanged");
        Assert.Equal(made, pushes.Count);
        // At most one push per 250 ms interval (plus the first, which goes at once); a slow machine only makes fewer.
        Assert.InRange(pushes.Count, 1, (int)(elapsed.TotalMilliseconds / 250) + 2);
        Assert.True(pushes.Count < 20, $"{pushes.Count} pushes for 1,000 changes");
        Assert.Equal(100_000, pushes[^1].Number("totalStakedMinor"));
        var totals = pushes.Select(p => p.Number("totalStakedMinor")).ToArray();
        Assert.Equal(totals.Order(), totals); // never back in time
        Assert.Equal(totals, onB.Received("OddsChanged").Select(p => p.Number("totalStakedMinor")));
    }

    [Fact]
    public async Task A_pools_push_loop_does_not_carry_the_trace_of_the_event_that_started_it()
    {
        using var source = new ActivitySource("StreamBets.Realtime.Tests.Odds");
        var recorded = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = _ => true,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = recorded.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        var coalescer = stack.ServicesA.GetRequiredService<OddsCoalescer>();
        var poolId = Guid.NewGuid();
        await using var client = await stack.ConnectAsync();
        await client.InvokeAsync("WatchPool", poolId);

        // The first event of a rush starts the pool's loop; later ones, handled under their own traces, join it.
        using (source.StartActivity("first OddsChanged"))
        {
            coalescer.Offer(TestEvents.Odds(poolId, 100));
        }
        var first = recorded.Single(a => a.OperationName == "first OddsChanged");
        await client.WaitForAsync("OddsChanged", p => p.Number("totalStakedMinor") == 100);
        using (source.StartActivity("later OddsChanged")) // within the interval: the same loop pushes it
        {
            coalescer.Offer(TestEvents.Odds(poolId, 200));
        }
        await client.WaitForAsync("OddsChanged", p => p.Number("totalStakedMinor") == 200);
        // The listener hears every push of the process, and other tests' pools push meanwhile: count this pool's only.
        List<Activity> PushesOfThisPool() => [.. recorded.Where(a =>
            a.OperationName == "push odds" && a.Source == OddsCoalescer.Source && a.GetTagItem("streambets.pool_id") is Guid pool && pool == poolId)];
        // The second push's span ends just after the client got it.
        Assert.True(await Testing.Eventually.HoldsAsync(() => Task.FromResult(PushesOfThisPool().Count >= 2), TimeSpan.FromSeconds(15)));

        // Each push is a trace of its own, linked to the event whose snapshot it pushed, never a child of the first.
        var later = recorded.Single(a => a.OperationName == "later OddsChanged");
        var pushes = PushesOfThisPool();
        Assert.Equal(2, pushes.Count);
        Assert.All(pushes, push => Assert.Equal(default, push.ParentSpanId));
        Assert.Equal([first.TraceId, later.TraceId], pushes.Select(push => Assert.Single(push.Links).Context.TraceId));
    }

    [Fact]
    public async Task A_snapshot_with_no_more_staked_than_the_last_pushed_is_never_pushed_even_after_the_pool_went_quiet()
    {
        var poolId = Guid.NewGuid();
        using var pushes = new OddsPushes(poolId);
        await using var client = await stack.ConnectAsync();
        await client.InvokeAsync("WatchPool", poolId);
        var asOf = DateTimeOffset.UtcNow;
        await stack.Bus.PublishAsync(TestEvents.Odds(poolId, 200, asOf));
        await client.WaitForAsync("OddsChanged");
        // Quiet: no replica keeps the pool, so only the total Redis remembers can stop an older snapshot.
        Assert.True(await BothReplicasLetEveryPoolGoAsync(), "A replica still holds the pool.");

        // A stalled Bet Engine replica's snapshot, read before the one pushed, then the bus redelivering that one: each
        // goes to a push of its own (the Redis guard answers it), and the pool goes quiet again before the next.
        await stack.Bus.PublishAsync(TestEvents.Odds(poolId, 100, asOf.AddSeconds(-1)));
        Assert.True(await pushes.EndedAsync(2), $"{pushes.Count} pushes of the pool ended, not 2.");
        Assert.True(await BothReplicasLetEveryPoolGoAsync(), "A replica still holds the pool.");
        await stack.Bus.PublishAsync(TestEvents.Odds(poolId, 200, asOf));
        Assert.True(await pushes.EndedAsync(3), $"{pushes.Count} pushes of the pool ended, not 3.");
        Assert.True(await BothReplicasLetEveryPoolGoAsync(), "A replica still holds the pool.");
        await stack.Bus.PublishAsync(TestEvents.Odds(poolId, 300, asOf.AddSeconds(1)));
        await client.WaitForAsync("OddsChanged", p => p.Number("totalStakedMinor") == 300);

        Assert.Equal([200, 300], client.Received("OddsChanged").Select(p => p.Number("totalStakedMinor")));
        var replay = await client.InvokeAsync<List<JsonElement>>("CatchUp", $"pool:{poolId}", 0L);
        Assert.Equal([200, 300], replay.Select(m => m.GetProperty("payload").Number("totalStakedMinor")));
        Assert.Equal([1, 2], replay.Select(m => m.GetProperty("payload").Number("sequence")));
    }

    [Fact]
    public async Task Odds_whose_push_failed_are_pushed_again_although_no_later_change_comes()
    {
        var poolId = Guid.NewGuid();
        await using var watcher = await stack.ConnectAsync(toHostB: true);
        await watcher.InvokeAsync("WatchPool", poolId);
        var publisher = ActivatorUtilities.CreateInstance<LivePublisher>(stack.ServicesA, new HubFailingOnce(stack.ServicesA.GetRequiredService<IHubContext<LiveHub>>()));
        using var coalescer = ActivatorUtilities.CreateInstance<OddsCoalescer>(stack.ServicesA, publisher);

        // The last bet before the lock: its odds are numbered, then the backplane fails, and no later change repairs them.
        coalescer.Offer(TestEvents.Odds(poolId, 500));

        var pushed = await watcher.WaitForAsync("OddsChanged");
        Assert.Equal(500, pushed.Number("totalStakedMinor"));
        Assert.Equal(1, pushed.Number("sequence")); // under the number it got before the failure: the stream has no hole
        Assert.Single(await watcher.InvokeAsync<List<JsonElement>>("CatchUp", $"pool:{poolId}", 0L));
        // The numbered total stays a plain number, as the previous version's script reads it (a rollback must not break it).
        var total = await stack.ServicesA.GetRequiredService<IConnectionMultiplexer>().GetDatabase()
            .StringGetAsync(stack.ServicesA.GetRequiredService<RealtimeKeys>().PushedOddsTotal(LiveStream.Pool(poolId)));
        Assert.Equal("500", total.ToString());
    }

    [Fact]
    public async Task Odds_waiting_for_their_interval_are_pushed_when_the_replica_stops()
    {
        var poolId = Guid.NewGuid();
        await using var watcher = await stack.ConnectAsync();
        await watcher.InvokeAsync("WatchPool", poolId);
        var (replica, services, _) = stack.StartSpareReplica(new() { ["Realtime:OddsInterval"] = "00:01:00" });
        await using var disposeReplica = replica;
        var coalescer = services.GetRequiredService<OddsCoalescer>();
        coalescer.Offer(TestEvents.Odds(poolId, 100)); // the first change goes at once
        await watcher.WaitForAsync("OddsChanged", p => p.Number("totalStakedMinor") == 100);

        coalescer.Offer(TestEvents.Odds(poolId, 200)); // the last bet before the lock waits for the end of the interval,
        await replica.DisposeAsync(); // and a deploy stops the replica meanwhile

        await watcher.WaitForAsync("OddsChanged", p => p.Number("totalStakedMinor") == 200);
    }

    /// <summary>
    /// Waits until neither replica's coalescer holds a pool: each loop has pushed what it had and let its pool go. The
    /// tests of the stack's collection run one at a time, so another test's pool holds it up one interval at most.
    /// </summary>
    private Task<bool> BothReplicasLetEveryPoolGoAsync() =>
        Testing.Eventually.HoldsAsync(() => Task.FromResult(
            new[] { stack.ServicesA, stack.ServicesB }.All(services => services.GetRequiredService<OddsCoalescer>().ActivePools == 0)), TimeSpan.FromSeconds(15));

    /// <summary>Counts the ended "push odds" spans of one pool, on any replica of the process: a push, whether Redis let it out or not.</summary>
    private sealed class OddsPushes : IDisposable
    {
        private readonly ActivityListener _listener;
        private int _count;

        public OddsPushes(Guid poolId)
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = source => source == OddsCoalescer.Source,
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = activity =>
                {
                    if (activity.OperationName == "push odds" && activity.GetTagItem("streambets.pool_id") is Guid pool && pool == poolId)
                    {
                        Interlocked.Increment(ref _count);
                    }
                },
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public int Count => Volatile.Read(ref _count);

        public Task<bool> EndedAsync(int count) => Testing.Eventually.HoldsAsync(() => Task.FromResult(Count >= count), TimeSpan.FromSeconds(15));

        public void Dispose() => _listener.Dispose();
    }
}
