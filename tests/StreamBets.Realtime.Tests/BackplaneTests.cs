using System.Text.Json;

namespace StreamBets.Realtime.Tests;

/// <summary>Two Realtime replicas share Redis: the bus hands each event to one of them, the backplane takes it to both's clients.</summary>
[Collection(StackCollection.Name)]
public sealed class BackplaneTests(RealtimeStack stack)
{
    [Fact]
    public async Task Every_event_reaches_watchers_on_both_replicas_whichever_replica_consumed_it()
    {
        // Twenty pools spread over the bus partitions, so both replicas consume some of them.
        var pools = Enumerable.Range(0, 20).Select(_ => Guid.NewGuid()).ToArray();
        await using var onA = await stack.ConnectAsync();
        await using var onB = await stack.ConnectAsync(toHostB: true);
        foreach (var pool in pools)
        {
            await onA.InvokeAsync("WatchPool", pool);
            await onB.InvokeAsync("WatchPool", pool);
        }

        await stack.Bus.PublishAsync([.. pools.Select(TestEvents.Locked)]);

        await onA.WaitForCountAsync("PoolStateChanged", pools.Length);
        await onB.WaitForCountAsync("PoolStateChanged", pools.Length);
        Assert.Equal(pools.Order(), onA.Received("PoolStateChanged").Select(p => p.Guid("poolId")).Order());
        Assert.Equal(pools.Order(), onB.Received("PoolStateChanged").Select(p => p.Guid("poolId")).Order());
    }

    [Fact]
    public async Task Chat_sent_through_one_replica_reaches_watchers_on_the_other()
    {
        var channel = TestEvents.NewChannel();
        await using var watcherOnB = await stack.ConnectAsync(toHostB: true);
        await watcherOnB.InvokeAsync("WatchChannel", channel);
        await using var senderOnA = await stack.ConnectAsync(Guid.NewGuid());

        var sent = await senderOnA.InvokeAsync<JsonElement>("SendChat", channel, "olá do outro lado");

        Assert.Equal(sent.Text("id"), (await watcherOnB.WaitForAsync("ChatMessage")).Text("id"));
    }
}
