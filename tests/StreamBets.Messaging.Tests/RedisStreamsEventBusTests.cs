using StackExchange.Redis;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging.Envelope;
using StreamBets.Messaging.Transports;
using StreamBets.Messaging.Transports.RedisStreams;
using StreamBets.Testing;

namespace StreamBets.Messaging.Tests;

/// <summary>The contract on Redis Streams, against the real Redis and PostgreSQL of the machine.</summary>
public sealed class RedisStreamsEventBusTests : EventBusContract
{
    private const int Partitions = 8; // As TestService configures.

    protected override async Task<BusSetup> SetUpAsync() => Setup((await TestServers.RedisAsync()).ConnectionString);

    protected override async Task<(BusSetup Setup, LocalServer Broker)> SetUpStoppableAsync()
    {
        var redis = await TestServers.StartAsync(() => new RedisServer());
        return (Setup(redis.ConnectionString), redis);
    }

    protected override async Task<IReadOnlyList<DeadLetter>> DeadLettersAsync(BusSetup setup, string consumerGroup)
    {
        await using var redis = await ConnectAsync(setup);
        var entries = await redis.GetDatabase().StreamRangeAsync(Names(setup).DeadLetter(consumerGroup));
        return entries.Select(e => new DeadLetter(e["type"]!, e["error"]!)).ToArray();
    }

    protected override async Task<long?> UnacknowledgedAsync(BusSetup setup, string consumerGroup)
    {
        await using var redis = await ConnectAsync(setup);
        var database = redis.GetDatabase();
        long pending = 0;
        for (var p = 0; p < Partitions; p++)
        {
            var stream = Names(setup).Stream("wallet", p);
            if (await database.KeyExistsAsync(stream) && (await database.StreamGroupInfoAsync(stream)).Any(g => g.Name == consumerGroup))
            {
                pending += (await database.StreamPendingAsync(stream, consumerGroup)).PendingMessageCount;
            }
        }
        return pending;
    }

    protected override bool RedriveRemovesTheDeadLetter => true;

    /// <summary>Runs the operators' script, eng/dead-letters.sh, against the test's Redis and key prefix.</summary>
    protected override async Task RedriveAsync(BusSetup setup, string consumerGroup)
    {
        var redis = setup.ConnectionStrings["ConnectionStrings:redis"]!.Split(',')[0];
        var script = Path.Combine(ServiceProcesses.RepositoryRoot(), "eng", "dead-letters.sh");
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(
            "bash", [script, "--redis", redis, "--prefix", setup.Prefix, "redrive", consumerGroup, "--all"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"eng/dead-letters.sh failed: {output}");
        Assert.StartsWith("re-driven 1", output, StringComparison.Ordinal);
    }

    private protected override async Task WaitUntilConsumersShareAsync(params TestService[] consumers) =>
        await Eventually.TrueAsync(
            () => Task.FromResult(consumers.All(c => ((RedisStreamsConsumer)c.Host.Services.GetRequiredService<IEventConsumer>()).OwnedStreams.Count > 0)),
            TimeSpan.FromSeconds(15), "every consumer holds partition leases");

    [Fact]
    public async Task An_idle_consumer_is_woken_by_the_doorbell_not_by_polling()
    {
        var setup = await SetUpAsync();
        var (publisherDb, consumerDb) = (await TestDatabases.CreateAsync("pub"), await TestDatabases.CreateAsync("sub"));
        await using var publisher = await TestService.StartAsync(setup, publisherDb, "wallet");
        // Polls every 10 minutes: only the doorbell can deliver within the test.
        await using var consumer = await TestService.StartAsync(setup, consumerDb, "watcher",
            bus => bus.AddSubscription<Counted, RecordingHandler>(), configure: o => o.RedisStreams.IdlePollMax = TimeSpan.FromMinutes(10));
        await WaitUntilEveryPartitionWaitsForItsDoorbellAsync(consumer);

        for (var i = 1; i <= 3; i++)
        {
            await publisher.PublishAsync(Events.Counted(Guid.NewGuid(), i));
            await Eventually.TrueAsync(async () => (await TestDatabases.AppliedAsync(consumerDb)).Count == i, TimeSpan.FromSeconds(10), $"event {i} is handled");
        }
    }

    [Fact]
    public async Task An_append_whose_ring_was_lost_is_read_when_the_subscription_reconnects()
    {
        // Its own Redis: the test disconnects every pub/sub client of the server.
        var (setup, broker) = await SetUpStoppableAsync();
        await using var _ = broker;
        var consumerDb = await TestDatabases.CreateAsync("sub");
        await using var consumer = await TestService.StartAsync(setup, consumerDb, "watcher",
            bus => bus.AddSubscription<Counted, RecordingHandler>(), configure: o => o.RedisStreams.IdlePollMax = TimeSpan.FromMinutes(10));
        await WaitUntilEveryPartitionWaitsForItsDoorbellAsync(consumer);

        // An append without its ring, as when the ring is sent while the subscriber is disconnected.
        await using var redis = await ConnectionMultiplexer.ConnectAsync(setup.ConnectionStrings["ConnectionStrings:redis"] + ",allowAdmin=true");
        await AppendAsync(redis.GetDatabase(), Names(setup).Stream("wallet", 0), Events.Counted(Guid.NewGuid(), 1));
        await Task.Delay(1_000);
        Assert.Empty(await TestDatabases.AppliedAsync(consumerDb));

        await redis.GetServers()[0].ClientKillAsync(clientType: ClientType.PubSub);

        await Eventually.TrueAsync(async () => (await TestDatabases.AppliedAsync(consumerDb)).Count == 1, TimeSpan.FromSeconds(15), "the event is handled after the reconnect");
    }

    [Fact]
    public async Task Entry_trimmed_while_pending_with_a_departed_consumer_is_dead_lettered_counted_and_leaves_the_pending_list()
    {
        var setup = await SetUpAsync();
        using var metrics = new MessagingMetrics("streambets.messaging.dead_lettered");
        await using var redis = await ConnectAsync(setup);
        var database = redis.GetDatabase();
        var stream = Names(setup).Stream("wallet", 0);
        // A consumer read the entry and went away before acknowledging it; then MAXLEN trimmed the entry.
        var entry = await AppendAsync(database, stream, Events.Counted(Guid.NewGuid(), 1));
        await LeavePendingWithDepartedConsumerAsync(database, stream, "watcher");
        await database.StreamTrimAsync(stream, 0);

        await using var consumer = await TestService.StartAsync(setup, await TestDatabases.CreateAsync("sub"), "watcher", bus => bus.AddSubscription<Counted, RecordingHandler>());

        await Eventually.TrueAsync(async () => (await database.StreamLengthAsync(Names(setup).DeadLetter("watcher"))) == 1, TimeSpan.FromSeconds(15), "the lost entry is dead-lettered");
        var deadLetter = Assert.Single(await database.StreamRangeAsync(Names(setup).DeadLetter("watcher")));
        Assert.Equal(stream, deadLetter["stream"]);
        Assert.Equal(entry, deadLetter["entry"]);
        Assert.Contains("trimmed", deadLetter["error"].ToString(), StringComparison.Ordinal);
        Assert.Equal(0, (await database.StreamPendingAsync(stream, "watcher")).PendingMessageCount);
        // A lost event is a dead letter like any other: the alert on the counter must see it.
        double DeadLettered() => metrics.Counted("streambets.messaging.dead_lettered", ("messaging.consumer.group.name", "watcher"));
        await Eventually.TrueAsync(() => Task.FromResult(DeadLettered() > 0), TimeSpan.FromSeconds(15), "the loss is counted as dead-lettered");
        Assert.Equal(1, DeadLettered());
    }

    [Fact]
    public async Task Departed_consumer_leaves_the_group_once_its_pending_entries_are_taken_over()
    {
        var setup = await SetUpAsync();
        await using var redis = await ConnectAsync(setup);
        var database = redis.GetDatabase();
        var stream = Names(setup).Stream("wallet", 0);
        await AppendAsync(database, stream, Events.Counted(Guid.NewGuid(), 1));
        await LeavePendingWithDepartedConsumerAsync(database, stream, "watcher");
        var consumerDb = await TestDatabases.CreateAsync("sub");

        await using var consumer = await TestService.StartAsync(setup, consumerDb, "watcher", bus => bus.AddSubscription<Counted, RecordingHandler>());

        await Eventually.TrueAsync(async () => (await TestDatabases.AppliedAsync(consumerDb)).Count == 1, TimeSpan.FromSeconds(15), "the successor handles the departed consumer's entry");
        await Eventually.TrueAsync(
            async () => (await database.StreamConsumerInfoAsync(stream, "watcher")).Select(c => c.Name).SequenceEqual([consumer.InstanceName]),
            TimeSpan.FromSeconds(15), "only the successor is left in the group");
    }

    [Fact]
    public void A_key_always_maps_to_the_same_partition_stream()
    {
        // FNV-1a is fixed by definition: these values must never change, or in-flight keys would move streams. Each is
        // its 32-bit FNV-1a of the UTF-8 bytes (computed apart from this code; "a" is FNV's own test vector) modulo the
        // partitions, as an unsigned number: "a"'s hash is negative as an int. 10 partitions: not just the low bits.
        Assert.Equal(8, RedisStreamNames.Partition("pool-42", 16)); // 0x142D4458
        Assert.Equal(11, RedisStreamNames.Partition("user:1", 16)); // 0x6D1A4ACB
        Assert.Equal(12, RedisStreamNames.Partition("a", 16)); // 0xE40C292C
        Assert.Equal(0, RedisStreamNames.Partition("a", 10));
        Assert.Equal(6, RedisStreamNames.Partition("pool-42", 10));
        Assert.Equal(5, RedisStreamNames.Partition("chän", 16)); // 0x3ED91945: the UTF-8 bytes, not the UTF-16 chars
        Assert.Equal((int)(0x811C9DC5u % 16), RedisStreamNames.Partition("", 16));
        var spread = Enumerable.Range(0, 1600).Select(i => RedisStreamNames.Partition(Guid.NewGuid().ToString(), 16)).GroupBy(p => p).ToArray();
        Assert.Equal(16, spread.Length);
        Assert.All(spread, g => Assert.InRange(g.Count(), 50, 150));
    }

    /// <summary>Each worker has read its empty stream and waits: an append made from now on is read only when rung.</summary>
    private static async Task WaitUntilEveryPartitionWaitsForItsDoorbellAsync(TestService consumer)
    {
        var redisStreams = (RedisStreamsConsumer)consumer.Host.Services.GetRequiredService<IEventConsumer>();
        await Eventually.TrueAsync(
            () => Task.FromResult(redisStreams.OwnedStreams.Count == Partitions && redisStreams.StreamsWaitingForDoorbell.Count == Partitions),
            TimeSpan.FromSeconds(15), "every partition worker waits for its doorbell");
    }

    private static BusSetup Setup(string redisConnectionString) => new(
        MessagingTransport.RedisStreams,
        new Dictionary<string, string?> { ["ConnectionStrings:redis"] = redisConnectionString },
        $"t{Guid.NewGuid():N}"[..12]);

    /// <summary>Appends the event the way the relay does.</summary>
    private static async Task<RedisValue> AppendAsync(IDatabase database, string stream, Counted @event)
    {
        var type = IntegrationEventMetadata.Of(typeof(Counted)).Type;
        var envelope = CloudEventEnvelope.Encode(@event, Guid.NewGuid(), type, new Uri("urn:streambets:tests"), DateTimeOffset.UtcNow, null, null);
        return await database.StreamAddAsync(stream, [new NameValueEntry("type", type), new NameValueEntry("ce", envelope)]);
    }

    /// <summary>A consumer of the group read every entry of the stream and went away without acknowledging them.</summary>
    private static async Task LeavePendingWithDepartedConsumerAsync(IDatabase database, string stream, string consumerGroup)
    {
        await database.StreamCreateConsumerGroupAsync(stream, consumerGroup, StreamPosition.Beginning);
        Assert.NotEmpty(await database.StreamReadGroupAsync(stream, consumerGroup, "departed", StreamPosition.NewMessages));
    }

    private static RedisStreamNames Names(BusSetup setup) => new(new RedisStreamsOptions { KeyPrefix = setup.Prefix, PartitionsPerTopic = Partitions });

    private static async Task<ConnectionMultiplexer> ConnectAsync(BusSetup setup) =>
        await ConnectionMultiplexer.ConnectAsync(setup.ConnectionStrings["ConnectionStrings:redis"]!);
}
