using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Realtime.Hubs;
using StreamBets.Realtime.Live;

namespace StreamBets.Realtime.Tests;

/// <summary>Events travel the real bus (outbox, relay, Redis Streams) and reach the groups they concern, and only those.</summary>
[Collection(StackCollection.Name)]
public sealed class EventRoutingTests(RealtimeStack stack)
{
    [Fact]
    public async Task Pool_events_reach_the_pools_watchers_and_its_channels_watchers_only()
    {
        var (poolA, poolB, streamer) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        var (channelA, channelB) = (TestEvents.NewChannel(), TestEvents.NewChannel());
        await using var poolAWatcher = await stack.ConnectAsync();
        await using var poolBWatcher = await stack.ConnectAsync(toHostB: true);
        await using var channelAWatcher = await stack.ConnectAsync();
        await poolAWatcher.InvokeAsync("WatchPool", poolA);
        await poolBWatcher.InvokeAsync("WatchPool", poolB);
        await channelAWatcher.InvokeAsync("WatchChannel", channelA);

        var createdA = TestEvents.Created(poolA, channelA, streamer);
        await stack.Bus.PublishAsync(createdA, TestEvents.Opened(poolA), TestEvents.Created(poolB, channelB, streamer), TestEvents.Opened(poolB));
        await stack.Bus.PublishAsync(TestEvents.Odds(poolA, 2_500), TestEvents.Locked(poolA), TestEvents.Resolved(poolA, createdA.Outcomes[0].OutcomeId));

        var created = await channelAWatcher.WaitForAsync("PoolCreated");
        Assert.Equal(poolA, created.Guid("poolId"));
        Assert.Equal(channelA, created.Text("channel"));
        Assert.Equal(2, created.GetProperty("outcomes").GetArrayLength());
        await channelAWatcher.WaitForCountAsync("PoolStateChanged", 3);
        Assert.Equal(["open", "locked", "resolved"], channelAWatcher.Received("PoolStateChanged").Select(p => p.Text("state")));
        Assert.All(channelAWatcher.Received("PoolStateChanged"), p => Assert.Equal($"channel:{channelA}", p.Text("stream")));

        await poolAWatcher.WaitForCountAsync("PoolStateChanged", 3);
        var states = poolAWatcher.Received("PoolStateChanged");
        Assert.Equal(["open", "locked", "resolved"], states.Select(p => p.Text("state")));
        Assert.Equal(createdA.Outcomes[0].OutcomeId, Assert.Single(states[2].GetProperty("winningOutcomeIds").EnumerateArray()).GetGuid());
        Assert.Equal(2_500, (await poolAWatcher.WaitForAsync("OddsChanged")).Number("totalStakedMinor"));
        var sequences = states.Select(p => p.Number("sequence")).ToArray();
        Assert.Equal(sequences.Order(), sequences);

        await poolBWatcher.WaitForAsync("PoolStateChanged", p => p.Text("state") == "open");
        await Task.Delay(500); // anything misrouted would have arrived by now
        Assert.All(poolAWatcher.Received("PoolStateChanged").Concat(poolAWatcher.Received("OddsChanged")), p => Assert.True(p.About(poolA)));
        Assert.Empty(poolAWatcher.Received("PoolCreated"));
        Assert.Single(poolBWatcher.Received("PoolStateChanged"));
        Assert.Empty(poolBWatcher.Received("OddsChanged"));
        Assert.All(channelAWatcher.Received("PoolStateChanged"), p => Assert.True(p.About(poolA)));
        Assert.Empty(channelAWatcher.Received("OddsChanged"));
    }

    [Fact]
    public async Task A_pools_settlement_reaches_its_watchers_and_its_channels_watchers()
    {
        var (poolId, otherPool, streamer) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        var channel = TestEvents.NewChannel();
        await using var poolWatcher = await stack.ConnectAsync();
        await using var channelWatcher = await stack.ConnectAsync(toHostB: true);
        await using var otherWatcher = await stack.ConnectAsync();
        await poolWatcher.InvokeAsync("WatchPool", poolId);
        await channelWatcher.InvokeAsync("WatchChannel", channel);
        await otherWatcher.InvokeAsync("WatchPool", otherPool);

        // PoolCreated (topic "pools") names the pool's channel; PoolSettled comes on another topic, long after in life.
        await stack.Bus.PublishAsync(TestEvents.Created(poolId, channel, streamer));
        await channelWatcher.WaitForAsync("PoolCreated");
        var settled = TestEvents.PoolSettled(poolId);
        await stack.Bus.PublishAsync(settled);

        foreach (var (watcher, stream) in new[] { (poolWatcher, $"pool:{poolId}"), (channelWatcher, $"channel:{channel}") })
        {
            var pushed = await watcher.WaitForAsync("PoolSettled");
            Assert.Equal(poolId, pushed.Guid("poolId"));
            Assert.Equal(settled.SettledAt, pushed.GetProperty("settledAt").GetDateTimeOffset());
            Assert.Equal(stream, pushed.Text("stream"));
        }
        await Task.Delay(500); // anything misrouted would have arrived by now
        Assert.Empty(otherWatcher.Received("PoolSettled"));
    }

    [Fact]
    public async Task Settled_bets_reach_the_bettor_only()
    {
        var (winner, secondWinner, other, poolId) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        await using var winnerClient = await stack.ConnectAsync(winner, toHostB: true);
        await using var secondWinnerClient = await stack.ConnectAsync(secondWinner);
        await using var otherClient = await stack.ConnectAsync(other);
        await using var poolWatcher = await stack.ConnectAsync();
        await poolWatcher.InvokeAsync("WatchPool", poolId);

        // Settlement announces bets in batches: each line goes to its own bettor.
        var settled = TestEvents.Settled(poolId, winner, secondWinner);
        await stack.Bus.PublishAsync(settled, TestEvents.Wallet(other, 1));

        var pushed = await winnerClient.WaitForAsync("BetSettled");
        Assert.Equal(settled.Bets[0].BetId, pushed.Guid("betId"));
        Assert.Equal("won", pushed.Text("result"));
        Assert.Equal(950, pushed.Number("payoutMinor"));
        Assert.Equal(settled.Bets[1].BetId, (await secondWinnerClient.WaitForAsync("BetSettled")).Guid("betId"));
        await otherClient.WaitForAsync("WalletChanged");
        await Task.Delay(500);
        Assert.Single(winnerClient.Received("BetSettled"));
        Assert.Single(secondWinnerClient.Received("BetSettled"));
        Assert.Empty(otherClient.Received("BetSettled"));
        Assert.Empty(poolWatcher.Received("BetSettled"));
    }

    [Fact]
    public async Task A_batch_of_wallet_changes_reaches_each_user_in_ledger_order()
    {
        var (alice, bob) = (Guid.NewGuid(), Guid.NewGuid());
        await using var aliceClient = await stack.ConnectAsync(alice);
        await using var bobClient = await stack.ConnectAsync(bob, toHostB: true);

        // One ledger batch: Alice staked twice and was credited once, Bob staked once.
        WalletChange Change(Guid user, long delta, long balance) => new(user, Guid.NewGuid(), delta, balance, "bet-stake", null);
        var changes = new[] { Change(alice, -100, 900), Change(bob, -50, 450), Change(alice, -200, 700), Change(alice, 1_000, 1_700) };
        await stack.Bus.PublishAsync(new WalletsChanged(changes, DateTimeOffset.UtcNow));

        await aliceClient.WaitForCountAsync("WalletChanged", 3);
        Assert.Equal([900L, 700L, 1_700L], aliceClient.Received("WalletChanged").Select(p => p.Number("balanceMinor")));
        Assert.Equal(changes[3].TransferId, aliceClient.Received("WalletChanged")[2].Guid("transferId"));
        Assert.Equal(450, (await bobClient.WaitForAsync("WalletChanged")).Number("balanceMinor"));
        await Task.Delay(500);
        Assert.Single(bobClient.Received("WalletChanged"));
    }

    [Fact]
    public async Task An_event_the_bus_delivers_twice_is_numbered_once()
    {
        var userId = Guid.NewGuid();
        await using var client = await stack.ConnectAsync(userId);
        var publisher = stack.ServicesA.GetRequiredService<LivePublisher>();
        var eventId = Guid.NewGuid();
        var message = new WalletChangedMessage(100, 100, "deposit", DateTimeOffset.UtcNow, Guid.NewGuid());

        var first = await publisher.PublishAsync(LiveStream.User(userId), message, eventId, CancellationToken.None);
        await publisher.PublishAsync(LiveStream.User(userId), message, eventId, CancellationToken.None);
        var next = await publisher.PublishAsync(LiveStream.User(userId), message with { BalanceMinor = 200 }, Guid.NewGuid(), CancellationToken.None);

        Assert.Equal([1L, 2L], new[] { first!.Sequence, next!.Sequence });
        Assert.Equal(2, (await client.InvokeAsync<List<JsonElement>>("CatchUp", "user", 0L)).Count);
    }

    [Fact]
    public async Task An_event_whose_push_went_out_is_not_pushed_again_when_redelivered()
    {
        var userId = Guid.NewGuid();
        await using var watcher = await stack.ConnectAsync(userId);
        var publisher = stack.ServicesA.GetRequiredService<LivePublisher>();
        var depositId = Guid.NewGuid();
        var deposit = new WalletChangedMessage(100, 100, "deposit", DateTimeOffset.UtcNow, Guid.NewGuid());
        await publisher.PublishAsync(LiveStream.User(userId), deposit, depositId, CancellationToken.None);
        await publisher.PublishAsync(LiveStream.User(userId), deposit with { BalanceMinor = 1_100, DeltaMinor = 1_000, Reason = "payout" }, Guid.NewGuid(), CancellationToken.None);
        await watcher.WaitForCountAsync("WalletChanged", 2);

        // A page opened now reads the balance (1,100) over REST and knows no sequence of the stream yet; then the bus
        // delivers the deposit again (a consumer restarted, or the handler threw after its push).
        await using var newPage = await stack.ConnectAsync(userId, toHostB: true);
        await publisher.PublishAsync(LiveStream.User(userId), deposit, depositId, CancellationToken.None);
        await publisher.PublishAsync(LiveStream.User(userId), deposit with { BalanceMinor = 1_000, DeltaMinor = -100, Reason = "bet" }, Guid.NewGuid(), CancellationToken.None);

        await newPage.WaitForAsync("WalletChanged");
        await watcher.WaitForCountAsync("WalletChanged", 3);
        Assert.Equal([1_000L], newPage.Received("WalletChanged").Select(p => p.Number("balanceMinor")));
        Assert.Equal([1L, 2L, 3L], watcher.Received("WalletChanged").Select(p => p.Number("sequence")));
    }

    [Fact]
    public async Task A_pool_event_redelivered_after_its_id_was_forgotten_does_not_move_the_pool_back()
    {
        var (poolId, channel) = (Guid.NewGuid(), TestEvents.NewChannel());
        await using var poolWatcher = await stack.ConnectAsync();
        await using var channelWatcher = await stack.ConnectAsync(toHostB: true);
        await poolWatcher.InvokeAsync("WatchPool", poolId);
        await channelWatcher.InvokeAsync("WatchChannel", channel);
        var (created, opened) = (TestEvents.Created(poolId, channel, Guid.NewGuid()), TestEvents.Opened(poolId));
        await stack.Bus.PublishAsync(created, opened, TestEvents.Locked(poolId));
        await channelWatcher.WaitForAsync("PoolStateChanged", p => p.Text("state") == "locked");

        // Days later the bus delivers the creation and the opening again, long after their ids were forgotten: the
        // outbox gives these copies new ids, which is how a forgotten id looks. Then the pool is resolved.
        await stack.Bus.PublishAsync(created, opened);
        await stack.Bus.PublishAsync(TestEvents.Resolved(poolId, Guid.NewGuid()));
        await poolWatcher.WaitForAsync("PoolStateChanged", p => p.Text("state") == "resolved");
        await channelWatcher.WaitForAsync("PoolStateChanged", p => p.Text("state") == "resolved");

        Assert.Equal(["open", "locked", "resolved"], poolWatcher.Received("PoolStateChanged").Select(p => p.Text("state")));
        Assert.Equal(["open", "locked", "resolved"], channelWatcher.Received("PoolStateChanged").Select(p => p.Text("state")));
        Assert.Single(channelWatcher.Received("PoolCreated"));
        Assert.Equal([1L, 2L, 3L], (await poolWatcher.InvokeAsync<List<JsonElement>>("CatchUp", $"pool:{poolId}", 0L))
            .Select(m => m.GetProperty("payload").Number("sequence")));
    }

    [Fact]
    public async Task A_bets_settlement_redelivered_after_its_ids_were_forgotten_is_not_pushed_again()
    {
        var (poolId, player) = (Guid.NewGuid(), Guid.NewGuid());
        await using var client = await stack.ConnectAsync(player);
        // A replica that forgets event ids after a second instead of 15 minutes, on a bus of its own.
        var settings = new Dictionary<string, string> { ["Realtime:DeduplicationWindow"] = "00:00:01" };
        var (replica, _, _) = stack.StartSpareReplica(settings);
        await using var disposeReplica = replica;
        await using var bus = await EventPublisher.StartAsync(stack.RedisConnectionString, settings["Messaging:RedisStreams:KeyPrefix"]);
        var settled = TestEvents.Settled(poolId, player);
        await bus.PublishAsync(settled);
        await client.WaitForAsync("BetSettled");

        // Long after, the bus delivers the settlement again (every replica was down meanwhile), then the pool's next
        // settlement batch, on the same partition, so it is handled after the copy.
        await Task.Delay(TimeSpan.FromSeconds(2));
        var nextBatch = TestEvents.Settled(poolId, player);
        await bus.PublishAsync(settled);
        await bus.PublishAsync(nextBatch);

        await client.WaitForAsync("BetSettled", p => p.Guid("betId") == nextBatch.Bets[0].BetId);
        Assert.Equal([settled.Bets[0].BetId, nextBatch.Bets[0].BetId], client.Received("BetSettled").Select(p => p.Guid("betId")));
        Assert.Equal([1L, 2L], (await client.InvokeAsync<List<JsonElement>>("CatchUp", "user", 0L)).Select(m => m.GetProperty("payload").Number("sequence")));
    }

    [Fact]
    public async Task An_event_whose_push_failed_is_pushed_with_its_first_sequence_when_redelivered()
    {
        var userId = Guid.NewGuid();
        await using var client = await stack.ConnectAsync(userId, toHostB: true);
        var hub = new HubFailingOnce(stack.ServicesA.GetRequiredService<IHubContext<LiveHub>>());
        var publisher = ActivatorUtilities.CreateInstance<LivePublisher>(stack.ServicesA, hub);
        var eventId = Guid.NewGuid();
        var message = new WalletChangedMessage(100, 100, "deposit", DateTimeOffset.UtcNow, Guid.NewGuid());

        // Numbered, then the backplane fails: the handler throws and the bus delivers the event again.
        await Assert.ThrowsAsync<RedisConnectionException>(() => publisher.PublishAsync(LiveStream.User(userId), message, eventId, CancellationToken.None));
        await publisher.PublishAsync(LiveStream.User(userId), message, eventId, CancellationToken.None);
        await publisher.PublishAsync(LiveStream.User(userId), message with { BalanceMinor = 200 }, Guid.NewGuid(), CancellationToken.None);

        await client.WaitForCountAsync("WalletChanged", 2);
        var pushed = client.Received("WalletChanged");
        Assert.Equal([1L, 2L], pushed.Select(p => p.Number("sequence")));
        Assert.Equal([100L, 200L], pushed.Select(p => p.Number("balanceMinor")));
    }
}
