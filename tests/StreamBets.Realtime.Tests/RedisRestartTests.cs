using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using StreamBets.Realtime.Live;
using StreamBets.Testing;

namespace StreamBets.Realtime.Tests;

/// <summary>
/// Redis may come back from a restart with an older copy than it had (a snapshot, an append-only file fsynced every
/// second, a lagging replica promoted): its sequence counters are below numbers clients already applied. The messages it
/// numbers next must not pass for duplicates, and catching up across the lost numbers must send the client to reload.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class RedisRestartTests(RealtimeStack stack)
{
    private sealed record Replayed(string Type, JsonElement Payload);

    [Fact]
    public async Task After_redis_comes_back_older_new_messages_number_past_what_clients_applied_and_catching_up_reloads()
    {
        var (poolId, streamer) = (Guid.NewGuid(), Guid.NewGuid());
        await using var client = await stack.ConnectAsync();
        await client.InvokeAsync("WatchPool", poolId);
        await stack.Bus.PublishAsync(TestEvents.Created(poolId, TestEvents.NewChannel(), streamer), TestEvents.Opened(poolId), TestEvents.Locked(poolId));
        var applied = (await client.WaitForAsync("PoolStateChanged", p => p.Text("state") == "locked")).Number("sequence");

        // What an older copy holds: the pool's stream as it was one message earlier, and another server's run id.
        var keys = stack.ServicesA.GetRequiredService<RealtimeKeys>();
        var redis = stack.ServicesA.GetRequiredService<IConnectionMultiplexer>().GetDatabase();
        var stream = LiveStream.Pool(poolId);
        await redis.StringSetAsync(keys.Sequence(stream), applied - 1, expiry: null, keepTtl: true);
        await redis.SortedSetRemoveRangeByScoreAsync(keys.Replay(stream), applied, double.PositiveInfinity);
        await redis.StringSetAsync($"{stack.KeyPrefix}:redis-run-id", "an-older-servers-run-id");

        // A replica starting now checks the server at once; so do the running ones on reconnect and every minute.
        var (replica, _, _) = stack.StartSpareReplica(new());
        await using (replica)
        {
            Assert.True(await Eventually.HoldsAsync(async () => (long)await redis.StringGetAsync(keys.Sequence(stream)) > applied, TimeSpan.FromSeconds(20)),
                "The stream's counter stayed below the number the client applied.");
        }

        var tooFarBack = await Assert.ThrowsAsync<HubException>(() => client.InvokeAsync<List<Replayed>>("CatchUp", $"pool:{poolId}", applied));
        await stack.Bus.PublishAsync(TestEvents.Resolved(poolId, Guid.NewGuid()));
        var resolved = (await client.WaitForAsync("PoolStateChanged", p => p.Text("state") == "resolved")).Number("sequence");
        var acrossTheHole = await Assert.ThrowsAsync<HubException>(() => client.InvokeAsync<List<Replayed>>("CatchUp", $"pool:{poolId}", applied));

        Assert.True(resolved > applied + 1, $"The message after the restart was numbered {resolved}, the client had applied {applied}.");
        Assert.Equal("catch-up-gap", Refusal.Code(tooFarBack));
        Assert.Equal("catch-up-gap", Refusal.Code(acrossTheHole));
        Assert.Empty(await client.InvokeAsync<List<Replayed>>("CatchUp", $"pool:{poolId}", resolved));
    }
}
