using System.Text.Json;
using Microsoft.AspNetCore.SignalR;

namespace StreamBets.Realtime.Tests;

[Collection(StackCollection.Name)]
public sealed class CatchUpTests(RealtimeStack stack)
{
    private sealed record Replayed(string Type, JsonElement Payload);

    [Fact]
    public async Task A_reconnecting_client_catches_up_on_what_it_missed_in_order()
    {
        var (poolId, userId, streamer) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        var channel = TestEvents.NewChannel();
        long lastPool, lastUser;
        await using (var before = await stack.ConnectAsync(userId))
        {
            await before.InvokeAsync("WatchPool", poolId);
            await stack.Bus.PublishAsync(TestEvents.Created(poolId, channel, streamer), TestEvents.Opened(poolId), TestEvents.Wallet(userId, 1_000));
            lastPool = (await before.WaitForAsync("PoolStateChanged")).Number("sequence");
            lastUser = (await before.WaitForAsync("WalletChanged")).Number("sequence");
        }

        // Offline: the pool locks and is resolved, the payout lands. A bystander, watching from before, proves the
        // events went out (joining after them would miss them: pushes are not replayed to a new watcher).
        var winner = Guid.NewGuid();
        await using var watcher = await stack.ConnectAsync();
        await watcher.InvokeAsync("WatchPool", poolId);
        await stack.Bus.PublishAsync(TestEvents.Locked(poolId), TestEvents.Resolved(poolId, winner), TestEvents.Settled(poolId, userId), TestEvents.Wallet(userId, 1_950));
        await watcher.WaitForAsync("PoolStateChanged", p => p.Text("state") == "resolved");

        await using var after = await stack.ConnectAsync(userId, toHostB: true);
        var poolMissed = await after.InvokeAsync<List<Replayed>>("CatchUp", $"pool:{poolId}", lastPool);
        var userMissed = await Caught(after, "user", lastUser, count: 2);

        Assert.Equal(["PoolStateChanged", "PoolStateChanged"], poolMissed.Select(m => m.Type));
        Assert.Equal(["locked", "resolved"], poolMissed.Select(m => m.Payload.Text("state")));
        Assert.Equal([lastPool + 1, lastPool + 2], poolMissed.Select(m => m.Payload.Number("sequence")));
        Assert.Equal(winner, poolMissed[1].Payload.GetProperty("winningOutcomeIds")[0].GetGuid());
        // BetSettled (settlement topic) and WalletChanged (wallet topic) have no order between them on the bus.
        Assert.Equal(["BetSettled", "WalletChanged"], userMissed.Select(m => m.Type).Order());
        Assert.Equal([lastUser + 1, lastUser + 2], userMissed.Select(m => m.Payload.Number("sequence")));
        Assert.Equal(1_950, userMissed.Single(m => m.Type == "WalletChanged").Payload.Number("balanceMinor"));
        Assert.All(userMissed, m => Assert.Equal("user", m.Payload.Text("stream")));
        Assert.Empty(await after.InvokeAsync<List<Replayed>>("CatchUp", $"pool:{poolId}", lastPool + 2));
    }

    [Fact]
    public async Task Catching_up_past_what_the_replay_keeps_is_refused_so_the_client_reloads()
    {
        var userId = Guid.NewGuid();
        await using var client = await stack.ConnectAsync(userId);
        await stack.Bus.PublishAsync([.. Enumerable.Range(1, 210).Select(i => TestEvents.Wallet(userId, i))]);
        await client.WaitForCountAsync("WalletChanged", 210);

        var refused = await Assert.ThrowsAsync<HubException>(() => client.InvokeAsync<List<Replayed>>("CatchUp", "user", 5L));
        var kept = await client.InvokeAsync<List<Replayed>>("CatchUp", "user", 10L);

        Assert.Equal("catch-up-gap", Refusal.Code(refused));
        Assert.Equal(200, kept.Count);
        Assert.Equal(Enumerable.Range(11, 200).Select(i => (long)i), kept.Select(m => m.Payload.Number("sequence")));
        Assert.Equal(210, kept[^1].Payload.Number("balanceMinor"));
    }

    [Fact]
    public async Task Streams_are_named_as_the_contract_says()
    {
        await using var client = await stack.ConnectAsync(Guid.NewGuid());

        var refused = await Assert.ThrowsAsync<HubException>(() => client.InvokeAsync<List<Replayed>>("CatchUp", "user:someone-else", 0L));

        Assert.Equal("invalid-stream", Refusal.Code(refused));
        Assert.Empty(await client.InvokeAsync<List<Replayed>>("CatchUp", $"pool:{Guid.NewGuid()}", 0L));
    }

    /// <summary>The user stream's messages may still be in flight when the client reconnects: ask until they are all there.</summary>
    private static async Task<List<Replayed>> Caught(LiveClient client, string stream, long after, int count)
    {
        List<Replayed> missed = [];
        Assert.True(await Testing.Eventually.HoldsAsync(async () =>
        {
            missed = await client.InvokeAsync<List<Replayed>>("CatchUp", stream, after);
            return missed.Count >= count;
        }, TimeSpan.FromSeconds(20)));
        return missed;
    }
}
