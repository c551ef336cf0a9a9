using System.Diagnostics;
using Npgsql;
using StreamBets.Contracts.IntegrationEvents;

namespace StreamBets.Messaging.Tests;

/// <summary>A message the consumer group gave up on, as the transport's dead letter holds it.</summary>
public sealed record DeadLetter(string EventType, string Error);

/// <summary>
/// The guarantees every transport must give, run once per transport: nothing lost, nothing applied twice, per-key order.
/// Each test gets its own databases and its own stream/topic prefix, so tests never see each other's events.
/// </summary>
public abstract class EventBusContract
{
    private const string Publisher = "wallet";
    private const string Consumer = "watcher";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>A fresh transport setup, or a skip when the transport has no broker here.</summary>
    protected abstract Task<BusSetup> SetUpAsync();

    protected abstract Task<IReadOnlyList<DeadLetter>> DeadLettersAsync(BusSetup setup, string consumerGroup);

    /// <summary>Messages delivered to the group but not acknowledged, or null where the transport cannot tell cheaply.</summary>
    protected abstract Task<long?> UnacknowledgedAsync(BusSetup setup, string consumerGroup);

    /// <summary>A setup on a broker of the test's own that it may stop and start, or a skip.</summary>
    protected abstract Task<(BusSetup Setup, Testing.LocalServer Broker)> SetUpStoppableAsync();

    /// <summary>Waits until every consumer takes part (Redis Streams: each holds partition leases).</summary>
    private protected virtual Task WaitUntilConsumersShareAsync(params TestService[] consumers) => Task.CompletedTask;

    private static Task<TestService> StartConsumerAsync(BusSetup setup, string database, Action<TestService>? beforeStart = null) =>
        TestService.StartAsync(setup, database, Consumer, bus => bus.AddSubscription<WalletChanged, RecordingHandler>(), beforeStart);

    [SkippableFact]
    public async Task Published_event_reaches_the_subscribed_handler_once_and_leaves_the_outbox()
    {
        var setup = await SetUpAsync();
        var (publisherDb, consumerDb) = (await TestDatabases.CreateAsync("pub"), await TestDatabases.CreateAsync("sub"));
        await using var publisher = await TestService.StartAsync(setup, publisherDb, Publisher);
        await using var consumer = await StartConsumerAsync(setup, consumerDb);

        var user = Guid.NewGuid();
        await publisher.PublishAsync(Events.Wallet(user, 1));

        await Eventually.TrueAsync(async () => (await TestDatabases.AppliedAsync(consumerDb)).Count == 1, Patience, "the event is handled");
        var applied = Assert.Single(await TestDatabases.AppliedAsync(consumerDb));
        Assert.Equal(user, applied.UserId);
        Assert.Equal(1, await TestDatabases.CountAsync(consumerDb,
            $"SELECT count(*) FROM inbox WHERE consumer_group = '{Consumer}' AND event_type = 'streambets.wallet.changed.v1' AND event_id = '{applied.EventId}'"));
        await Eventually.TrueAsync(async () => await TestDatabases.CountAsync(publisherDb, "SELECT count(*) FROM outbox") == 0, Patience, "the relay deletes the acknowledged row");
    }

    [SkippableFact]
    public async Task Event_written_in_a_rolled_back_transaction_is_never_published()
    {
        var setup = await SetUpAsync();
        var (publisherDb, consumerDb) = (await TestDatabases.CreateAsync("pub"), await TestDatabases.CreateAsync("sub"));
        await using var publisher = await TestService.StartAsync(setup, publisherDb, Publisher);
        await using var consumer = await StartConsumerAsync(setup, consumerDb);
        var user = Guid.NewGuid();

        await using (var connection = new NpgsqlConnection(publisherDb))
        {
            await connection.OpenAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            await publisher.Host.Services.GetRequiredService<IOutbox>().AddAsync(transaction, Events.Wallet(user, 1));
            await transaction.RollbackAsync();
        }
        await publisher.PublishAsync(Events.Wallet(user, 2));

        await Eventually.TrueAsync(async () => (await TestDatabases.AppliedAsync(consumerDb)).Count >= 1, Patience, "the committed event is handled");
        Assert.Equal([2L], (await TestDatabases.AppliedAsync(consumerDb)).Select(r => r.Number));
    }

    [SkippableFact]
    public async Task Events_of_each_key_are_handled_in_order_with_two_consumers_and_two_relays()
    {
        var setup = await SetUpAsync();
        var (publisherDb, consumerDb) = (await TestDatabases.CreateAsync("pub"), await TestDatabases.CreateAsync("sub"));
        await using var publisherA = await TestService.StartAsync(setup, publisherDb, Publisher);
        await using var publisherB = await TestService.StartAsync(setup, publisherDb, Publisher);
        await using var consumerA = await StartConsumerAsync(setup, consumerDb);
        await using var consumerB = await StartConsumerAsync(setup, consumerDb);
        await WaitUntilConsumersShareAsync(consumerA, consumerB);

        var users = Enumerable.Range(0, 20).Select(_ => Guid.NewGuid()).ToArray();
        const int perUser = 30;
        for (var n = 1; n <= perUser; n++)
        {
            // Alternate replicas: whichever writes, the one relay leader publishes in commit order.
            await (n % 2 == 0 ? publisherA : publisherB).PublishAsync(users.Select(u => (IIntegrationEvent)Events.Wallet(u, n)).ToArray());
        }

        await Eventually.TrueAsync(async () => (await TestDatabases.AppliedAsync(consumerDb)).Count >= users.Length * perUser, Patience, "every event is handled");
        var applied = await TestDatabases.AppliedAsync(consumerDb);
        Assert.Equal(users.Length * perUser, applied.Count);
        foreach (var user in users)
        {
            Assert.Equal(Enumerable.Range(1, perUser).Select(n => (long)n), applied.Where(r => r.UserId == user).Select(r => r.Number));
        }
        Assert.Single(new[] { publisherA, publisherB }, p => p.Relay.IsLeader);
        Assert.Equal(2, applied.Select(r => r.HandledBy).Distinct().Count());
    }

    [SkippableFact]
    public async Task Event_delivered_twice_is_applied_once()
    {
        var setup = await SetUpAsync();
        var (publisherDb, consumerDb) = (await TestDatabases.CreateAsync("pub"), await TestDatabases.CreateAsync("sub"));
        await using var publisher = await TestService.StartAsync(setup, publisherDb, Publisher);
        await using var consumer = await StartConsumerAsync(setup, consumerDb);
        var user = Guid.NewGuid();

        // A relay that crashed after the broker's ack but before deleting the row publishes the same event again:
        // two outbox rows with one event id reach the broker, and the consumer sees the event twice.
        await using (var connection = new NpgsqlConnection(publisherDb))
        {
            await connection.OpenAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            await publisher.Host.Services.GetRequiredService<IOutbox>().AddAsync(transaction, Events.Wallet(user, 1));
            await using var duplicate = new NpgsqlCommand("""
                INSERT INTO outbox (event_id, topic, partition_key, event_type, envelope, created_at)
                SELECT event_id, topic, partition_key, event_type, envelope, created_at FROM outbox
                """, connection, transaction);
            Assert.Equal(1, await duplicate.ExecuteNonQueryAsync());
            await transaction.CommitAsync();
        }
        await publisher.PublishAsync(Events.Wallet(user, 2)); // Same key, so it is handled after both copies.

        await Eventually.TrueAsync(async () => (await TestDatabases.AppliedAsync(consumerDb)).Any(r => r.Number == 2), Patience, "the later event is handled");
        Assert.Equal([1L, 2L], (await TestDatabases.AppliedAsync(consumerDb)).Select(r => r.Number));
        Assert.Equal(2, await TestDatabases.CountAsync(consumerDb, "SELECT count(*) FROM inbox"));
    }

    [SkippableFact]
    public async Task Crash_between_handler_commit_and_ack_causes_no_second_effect()
    {
        var setup = await SetUpAsync();
        var (publisherDb, consumerDb) = (await TestDatabases.CreateAsync("pub"), await TestDatabases.CreateAsync("sub"));
        await using var publisher = await TestService.StartAsync(setup, publisherDb, Publisher);
        var committed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var crashing = await StartConsumerAsync(setup, consumerDb, service => service.Dispatcher.AfterCommit = async (_, cancellationToken) =>
        {
            // The handler's transaction committed; the process "dies" before it acknowledges the message.
            committed.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
        });

        var user = Guid.NewGuid();
        await publisher.PublishAsync(Events.Wallet(user, 1));
        await committed.Task.WaitAsync(Patience);
        Assert.Single(await TestDatabases.AppliedAsync(consumerDb));
        if (await UnacknowledgedAsync(setup, Consumer) is { } pending)
        {
            Assert.Equal(1, pending);
        }
        await crashing.DisposeAsync();

        await using var successor = await StartConsumerAsync(setup, consumerDb);
        await publisher.PublishAsync(Events.Wallet(user, 2));

        await Eventually.TrueAsync(async () => (await TestDatabases.AppliedAsync(consumerDb)).Any(r => r.Number == 2), Patience, "the successor handles the next event");
        Assert.Equal([1L, 2L], (await TestDatabases.AppliedAsync(consumerDb)).Select(r => r.Number));
        if (await UnacknowledgedAsync(setup, Consumer) is not null)
        {
            await Eventually.TrueAsync(async () => await UnacknowledgedAsync(setup, Consumer) == 0, Patience, "the redelivered message is acknowledged");
        }
    }

    [SkippableFact]
    public async Task Events_written_while_the_broker_is_down_stay_in_the_outbox_and_all_arrive_once_it_is_back()
    {
        var (setup, broker) = await SetUpStoppableAsync();
        await using var _ = broker;
        var (publisherDb, consumerDb) = (await TestDatabases.CreateAsync("pub"), await TestDatabases.CreateAsync("sub"));
        await using var publisher = await TestService.StartAsync(setup, publisherDb, Publisher);
        await using var consumer = await StartConsumerAsync(setup, consumerDb);
        var users = Enumerable.Range(0, 5).Select(_ => Guid.NewGuid()).ToArray();
        await publisher.PublishAsync(Events.Wallet(users[0], 0));
        await Eventually.TrueAsync(async () => (await TestDatabases.AppliedAsync(consumerDb)).Count == 1, Patience, "the first event is handled");

        await broker.StopAsync();
        var outage = Stopwatch.StartNew();
        for (var n = 1; n <= 10; n++)
        {
            await publisher.PublishAsync(users.Select(u => (IIntegrationEvent)Events.Wallet(u, n)).ToArray());
        }
        await Eventually.TrueAsync(() => Task.FromResult(publisher.Relay.Lag.Pending == 50), Patience, "the outbox lag metric reports the 50 waiting events");
        await Task.Delay(TimeSpan.FromSeconds(10) - outage.Elapsed);
        Assert.Equal(50, await TestDatabases.CountAsync(publisherDb, "SELECT count(*) FROM outbox"));
        Assert.True(await TestDatabases.CountAsync(publisherDb, "SELECT max(attempts) FROM outbox") > 0, "the relay kept retrying");
        await broker.StartAsync();

        await Eventually.TrueAsync(async () => (await TestDatabases.AppliedAsync(consumerDb)).Count >= 51, Patience, "every event arrives after the restart");
        var applied = await TestDatabases.AppliedAsync(consumerDb);
        Assert.Equal(51, applied.Count);
        foreach (var user in users)
        {
            Assert.Equal(Enumerable.Range(user == users[0] ? 0 : 1, user == users[0] ? 11 : 10).Select(n => (long)n),
                applied.Where(r => r.UserId == user).Select(r => r.Number));
        }
        await Eventually.TrueAsync(async () => await TestDatabases.CountAsync(publisherDb, "SELECT count(*) FROM outbox") == 0, Patience, "the outbox drains");
    }

    [SkippableFact]
    public async Task Poison_message_goes_to_the_dead_letter_with_its_error_and_the_key_moves_on()
    {
        var setup = await SetUpAsync();
        var (publisherDb, consumerDb) = (await TestDatabases.CreateAsync("pub"), await TestDatabases.CreateAsync("sub"));
        await using var publisher = await TestService.StartAsync(setup, publisherDb, Publisher);
        await using var consumer = await StartConsumerAsync(setup, consumerDb);
        var user = Guid.NewGuid();

        await publisher.PublishAsync(Events.Wallet(user, 1), Events.Wallet(user, 2, RecordingHandler.Poison), Events.Wallet(user, 3));

        await Eventually.TrueAsync(async () => (await TestDatabases.AppliedAsync(consumerDb)).Any(r => r.Number == 3), Patience, "the event after the poison one is handled");
        Assert.Equal([1L, 3L], (await TestDatabases.AppliedAsync(consumerDb)).Select(r => r.Number));
        await Eventually.TrueAsync(async () => (await DeadLettersAsync(setup, Consumer)).Count == 1, Patience, "the poison message is dead-lettered");
        var deadLetter = Assert.Single(await DeadLettersAsync(setup, Consumer));
        Assert.Equal("streambets.wallet.changed.v1", deadLetter.EventType);
        Assert.Contains("Poison pill", deadLetter.Error, StringComparison.Ordinal);
        Assert.Contains("after 3 attempts", deadLetter.Error, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Consumer_span_continues_the_publishers_trace_and_links_to_the_producer_span()
    {
        var setup = await SetUpAsync();
        using var source = new ActivitySource("StreamBets.Messaging.Tests");
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name.StartsWith("StreamBets.", StringComparison.Ordinal),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        var (publisherDb, consumerDb) = (await TestDatabases.CreateAsync("pub"), await TestDatabases.CreateAsync("sub"));
        await using var publisher = await TestService.StartAsync(setup, publisherDb, Publisher);
        await using var consumer = await StartConsumerAsync(setup, consumerDb);

        string traceId;
        using (var request = source.StartActivity("place bet"))
        {
            traceId = request!.TraceId.ToHexString();
            await publisher.PublishAsync(Events.Wallet(Guid.NewGuid(), 1));
        }

        await Eventually.TrueAsync(async () => (await TestDatabases.AppliedAsync(consumerDb)).Count == 1, Patience, "the event is handled");
        var applied = Assert.Single(await TestDatabases.AppliedAsync(consumerDb));
        Assert.Equal(traceId, applied.TraceId);
        Assert.True(applied.Linked);
    }
}
