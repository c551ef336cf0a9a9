using System.Diagnostics;

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
        await Task.Delay(1_000); // any push still queued behind the latest would show up now
        var elapsed = clock.Elapsed;
        var pushes = onA.Received("OddsChanged");
        // At most one push per 250 ms interval (plus the first, which goes at once); a slow machine only makes fewer.
        Assert.InRange(pushes.Count, 1, (int)(elapsed.TotalMilliseconds / 250) + 2);
        Assert.True(pushes.Count < 20, $"{pushes.Count} pushes for 1,000 changes");
        Assert.Equal(100_000, pushes[^1].Number("totalStakedMinor"));
        var totals = pushes.Select(p => p.Number("totalStakedMinor")).ToArray();
        Assert.Equal(totals.Order(), totals); // never back in time
        Assert.Equal(totals, onB.Received("OddsChanged").Select(p => p.Number("totalStakedMinor")));
    }
}
