using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using StreamBets.Realtime.Live;

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

    [Fact]
    public async Task A_replica_whose_backplane_connection_comes_back_tells_its_own_clients_to_catch_up()
    {
        // A replica whose Redis connections carry a name of their own, so the test can cut just its pub/sub.
        var connectionName = $"rt-cut-{Guid.NewGuid():N}";
        var (replica, _, url) = stack.StartSpareReplica(new() { ["ConnectionStrings:redis"] = $"{stack.RedisConnectionString},name={connectionName}" });
        await using var disposeReplica = replica;
        var poolId = Guid.NewGuid();
        await using var viewer = await LiveClient.ConnectAsync(url, token: null);
        await viewer.InvokeAsync("WatchPool", poolId);
        await using var onOtherReplica = await stack.ConnectAsync();

        // Redis drops the replica's subscriber (a network blip, client-output-buffer-limit pubsub): whatever is published
        // meanwhile never reaches it, and its viewer's WebSocket stays up, so no gap shows a stream's last message missed.
        await using var admin = await ConnectionMultiplexer.ConnectAsync($"{stack.RedisConnectionString},allowAdmin=true");
        var server = admin.GetServers()[0];
        var subscribers = (await server.ClientListAsync()).Where(client => client.Name == connectionName && client.ClientType == ClientType.PubSub).ToArray();
        Assert.NotEmpty(subscribers);
        foreach (var subscriber in subscribers)
        {
            await server.ClientKillAsync(subscriber.Id);
        }

        await viewer.WaitForAsync("Resync");
        // Told once pushes reach the replica again, so a CatchUp then misses nothing published after it.
        await stack.ServicesA.GetRequiredService<LivePublisher>().PublishAsync(LiveStream.Pool(poolId),
            new PoolStateChangedMessage(poolId, "resolved", [], DateTimeOffset.UtcNow), Guid.NewGuid(), CancellationToken.None);
        await viewer.WaitForAsync("PoolStateChanged", p => p.About(poolId));
        Assert.Single(viewer.Received("Resync"));
        Assert.Empty(onOtherReplica.Received("Resync")); // told to this replica's clients only
    }
}
