using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Npgsql;
using StackExchange.Redis;
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

    /// <summary>Puts every dead letter of the group back for that group alone, the way docs/runbook.md tells an operator to.</summary>
    protected abstract Task RedriveAsync(BusSetup setup, string consumerGroup);

    /// <summary>Whether a re-driven message leaves the dead letter (Redis Streams) or stays in it as a log (Kafka).</summary>
    protected virtual bool RedriveRemovesTheDeadLetter => false;

    /// <summary>Messages delivered to the group but not acknowledged, or null where the transport cannot tell cheaply.</summary>
    protected abstract Task<long?> UnacknowledgedAsync(BusSetup setup, string consumerGroup);

    /// <summary>A setup on a broker of the test's own that it may stop and start, or a skip.</summary>
    protected abstract Task<(BusSetup Setup, Testing.LocalServer Broker)> SetUpStoppableAsync();

    /// <summary>Waits until every consumer takes part (Redis Streams: each holds partition leases).</summary>
    private protected virtual Task WaitUntilConsumersShareAsync(params TestService[] consumers) => Task.CompletedTask;

    /// <param name="redis">The consuming service's own Redis client (its read models'), if it has one.</param>
    /// <param name="logs">Where the consuming service's logs are kept, if the test reads them.</param>
    private static Task<TestService> StartConsumerAsync(
        BusSetup setup, string database, Action<TestService>? beforeStart = null, IConnectionMultiplexer? redis = null,
        Testing.CollectedLogs? logs = null, string group = Consumer) =>
        TestService.StartAsync(setup, database, group, bus =>
        {
            if (redis is not null)
            {
                bus.Services.AddSingleton(redis);
            }
            if (logs is not null)
            {
                bus.Services.AddSingleton<ILoggerProvider>(logs);
            }
            bus.AddSubscription<Counted, RecordingHandler>();
        }, beforeStart);

    /// <summary>The usual cast: a publishing service and a consuming service, each with its own database.</summary>
    private async Task<Scenario> StartScenarioAsync(
        IConnectionMultiplexer? consumerRedis = null, Testing.CollectedLogs? consumerLogs = null, string consumerGroup = Consumer)
    {
        var setup = await SetUpAsync();
        var (publisherDb, consumerDb) = (await TestDatabases.CreateAsync("pub"), await TestDatabases.CreateAsync("sub"));
        var publisher = await TestService.StartAsync(setup, publisherDb, Publisher);
        return new Scenario(setup, publisher, await StartConsumerAsync(setup, consumerDb, redis: consumerRedis, logs: consumerLogs, group: consumerGroup));
    }

    /// <summary>
    /// Copies the outbox rows written so far in the transaction's database, event ids and all: what a relay that crashed
    /// after the broker's ack but before deleting its rows publishes again, so the consumer sees those events twice.
    /// </summary>
    private static async Task DuplicateOutboxRowsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction)
    {
        await using var duplicate = new NpgsqlCommand("""
            INSERT INTO outbox (event_id, topic, partition_key, event_type, envelope, created_at)
            SELECT event_id, topic, partition_key, event_type, envelope, created_at FROM outbox
            """, connection, transaction);
        Assert.Equal(1, await duplicate.ExecuteNonQueryAsync());
    }

    private sealed record Scenario(BusSetup Setup, TestService Publisher, TestService Consumer) : IAsyncDisposable
    {
        public string PublisherDb => Publisher.ConnectionString;
        public string ConsumerDb => Consumer.ConnectionString;

        /// <summary>Waits until the consumer's applied rows satisfy the condition, then returns them.</summary>
        public async Task<List<AppliedRow>> AppliedWhenAsync(Func<List<AppliedRow>, bool> condition, string because)
        {
            await Eventually.TrueAsync(async () => condition(await TestDatabases.AppliedAsync(ConsumerDb)), Patience, because);
            return await TestDatabases.AppliedAsync(ConsumerDb);
        }

        /// <summary>Writes to the outbox in a transaction of the publisher's database, with extra work before it ends.</summary>
        public async Task WriteAsync(IIntegrationEvent @event, bool commit, Func<NpgsqlConnection, NpgsqlTransaction, Task>? more = null)
        {
            await using var connection = new NpgsqlConnection(PublisherDb);
            await connection.OpenAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            await Publisher.Host.Services.GetRequiredService<IOutbox>().AddAsync(transaction, @event);
            if (more is not null)
            {
                await more(connection, transaction);
            }
            await (commit ? transaction.CommitAsync() : transaction.RollbackAsync());
        }

        public async ValueTask DisposeAsync()
        {
            await Consumer.DisposeAsync();
            await Publisher.DisposeAsync();
        }
    }

    [SkippableFact]
    public async Task Published_event_reaches_the_subscribed_handler_once_and_leaves_the_outbox()
    {
        await using var scenario = await StartScenarioAsync();
        var user = Guid.NewGuid();

        await scenario.Publisher.PublishAsync(Events.Counted(user, 1));

        var applied = Assert.Single(await scenario.AppliedWhenAsync(rows => rows.Count == 1, "the event is handled"));
        Assert.Equal(user, applied.UserId);
        Assert.Equal(1, await TestDatabases.CountAsync(scenario.ConsumerDb,
            $"SELECT count(*) FROM inbox WHERE consumer_group = '{Consumer}' AND event_type = 'streambets.wallet.test-counted.v1' AND event_id = '{applied.EventId}'"));
        await Eventually.TrueAsync(async () => await TestDatabases.CountAsync(scenario.PublisherDb, "SELECT count(*) FROM outbox") == 0, Patience, "the relay deletes the acknowledged row");
    }

    [SkippableFact]
    public async Task A_relay_whose_publishing_loop_fails_hands_the_lead_on_and_publishing_resumes()
    {
        await using var scenario = await StartScenarioAsync();
        var user = Guid.NewGuid();
        await scenario.Publisher.PublishAsync(Events.Counted(user, 0));
        await scenario.AppliedWhenAsync(rows => rows.Count == 1, "the first event is handled");

        // The leader's next read of the outbox fails (as on a dropped pooled connection or a statement timeout), while
        // its LISTEN session, which holds the lead, stays healthy.
        await TestDatabases.CountAsync(scenario.PublisherDb, "ALTER TABLE outbox RENAME TO outbox_away; SELECT 0");
        await Task.Delay(TimeSpan.FromSeconds(1));
        await TestDatabases.CountAsync(scenario.PublisherDb, "ALTER TABLE outbox_away RENAME TO outbox; SELECT 0");

        await scenario.Publisher.PublishAsync(Events.Counted(user, 1));
        Assert.Equal([0L, 1L], (await scenario.AppliedWhenAsync(rows => rows.Count == 2, "publishing resumed after the failure")).Select(r => r.Number));
    }

    [SkippableFact]
    public async Task Event_written_in_a_rolled_back_transaction_is_never_published()
    {
        await using var scenario = await StartScenarioAsync();
        var user = Guid.NewGuid();

        await scenario.WriteAsync(Events.Counted(user, 1), commit: false);
        await scenario.Publisher.PublishAsync(Events.Counted(user, 2));

        var applied = await scenario.AppliedWhenAsync(rows => rows.Count >= 1, "the committed event is handled");
        Assert.Equal([2L], applied.Select(r => r.Number));
    }

    [SkippableFact]
    public async Task Events_sent_in_the_callers_own_batch_commit_with_it_or_fail_it_whole()
    {
        await using var scenario = await StartScenarioAsync();
        var (user, refused) = (Guid.NewGuid(), Guid.NewGuid());
        // An outbox statement that fails for one key, to stand for any error the appended statements can meet.
        await using (var connection = new NpgsqlConnection(scenario.PublisherDb))
        {
            await connection.OpenAsync();
            await using var constraint = new NpgsqlCommand($"ALTER TABLE outbox ADD CONSTRAINT refuses_one_key CHECK (partition_key <> '{refused}')", connection);
            await constraint.ExecuteNonQueryAsync();
        }

        async Task WriteInOneBatchAsync(Guid key, long number)
        {
            await using var connection = new NpgsqlConnection(scenario.PublisherDb);
            await connection.OpenAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            await using (var batch = new NpgsqlBatch(connection, transaction))
            {
                batch.BatchCommands.Add(new NpgsqlBatchCommand(
                    $"INSERT INTO applied (event_id, user_id, number, handled_by) VALUES (gen_random_uuid(), '{key}', {number}, 'the caller') RETURNING seq"));
                foreach (var command in scenario.Publisher.Host.Services.GetRequiredService<IOutbox>().CommandsFor([Events.Counted(key, number)]))
                {
                    batch.BatchCommands.Add(command);
                }
                await using var reader = await batch.ExecuteReaderAsync();
                Assert.True(await reader.ReadAsync()); // the caller reads its own result; the outbox's error surfaces on disposal
            }
            await transaction.CommitAsync();
        }

        await WriteInOneBatchAsync(user, 1);
        await Assert.ThrowsAsync<PostgresException>(() => WriteInOneBatchAsync(refused, 2));

        var applied = await scenario.AppliedWhenAsync(rows => rows.Count >= 1, "the committed event is handled");
        Assert.Equal([(user, 1L)], applied.Select(r => (r.UserId, r.Number)));
        Assert.Equal(1, await TestDatabases.CountAsync(scenario.PublisherDb, "SELECT count(*) FROM applied"));
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
            await (n % 2 == 0 ? publisherA : publisherB).PublishAsync(users.Select(u => (IIntegrationEvent)Events.Counted(u, n)).ToArray());
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
        await using var scenario = await StartScenarioAsync();
        var user = Guid.NewGuid();

        await scenario.WriteAsync(Events.Counted(user, 1), commit: true, DuplicateOutboxRowsAsync);
        await scenario.Publisher.PublishAsync(Events.Counted(user, 2)); // Same key, so it is handled after both copies.

        var applied = await scenario.AppliedWhenAsync(rows => rows.Any(r => r.Number == 2), "the later event is handled");
        Assert.Equal([1L, 2L], applied.Select(r => r.Number));
        Assert.Equal(2, await TestDatabases.CountAsync(scenario.ConsumerDb, "SELECT count(*) FROM inbox"));
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
        await publisher.PublishAsync(Events.Counted(user, 1));
        await committed.Task.WaitAsync(Patience);
        Assert.Single(await TestDatabases.AppliedAsync(consumerDb));
        if (await UnacknowledgedAsync(setup, Consumer) is { } pending)
        {
            Assert.Equal(1, pending);
        }
        await crashing.DisposeAsync();

        await using var successor = await StartConsumerAsync(setup, consumerDb);
        await publisher.PublishAsync(Events.Counted(user, 2));

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
        await publisher.PublishAsync(Events.Counted(users[0], 0));
        await Eventually.TrueAsync(async () => (await TestDatabases.AppliedAsync(consumerDb)).Count == 1, Patience, "the first event is handled");

        await broker.StopAsync();
        var outage = Stopwatch.StartNew();
        for (var n = 1; n <= 10; n++)
        {
            await publisher.PublishAsync(users.Select(u => (IIntegrationEvent)Events.Counted(u, n)).ToArray());
        }
        await Eventually.TrueAsync(() => Task.FromResult(publisher.Relay.Lag.Pending == 50), Patience, "the outbox lag metric reports the 50 waiting events");
        if (TimeSpan.FromSeconds(10) - outage.Elapsed is { Ticks: > 0 } rest)
        {
            await Task.Delay(rest); // the set-up may already have taken 10 s on a loaded box
        }
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
    public async Task A_consumer_group_stalled_in_its_handler_reports_its_backlog_as_lag_until_it_applies_it()
    {
        const string Lag = "streambets.messaging.consumer.lag";
        var setup = await SetUpAsync();
        using var metrics = new MessagingMetrics(Lag);
        var group = $"stalled{Guid.NewGuid():N}"[..15];
        var gate = new StalledHandler.Gate(new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        var (publisherDb, consumerDb) = (await TestDatabases.CreateAsync("pub"), await TestDatabases.CreateAsync("sub"));
        await using var publisher = await TestService.StartAsync(setup, publisherDb, Publisher);
        await using var consumer = await TestService.StartAsync(setup, consumerDb, group, bus =>
        {
            bus.Services.AddSingleton(gate);
            bus.AddSubscription<Counted, StalledHandler>();
        });
        double? LagNow() => metrics.Gauge(Lag, ("messaging.consumer.group.name", group), ("messaging.destination.name", "wallet"));

        await publisher.PublishAsync([.. Enumerable.Range(1, 5).Select(n => (IIntegrationEvent)Events.Counted(Guid.NewGuid(), n))]);

        await Eventually.TrueAsync(() => Task.FromResult(LagNow() == 5), Patience, "the lag gauge reports the 5 events the hung handler holds up");
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal(5, LagNow());
        Assert.Equal(0, await TestDatabases.CountAsync(consumerDb, "SELECT count(*) FROM inbox"));

        gate.Opened.SetResult();

        await Eventually.TrueAsync(() => Task.FromResult(LagNow() == 0), Patience, "the lag drops to 0 once the group applied its backlog");
        Assert.Equal(5, await TestDatabases.CountAsync(consumerDb, "SELECT count(*) FROM inbox"));
    }

    [SkippableFact]
    public async Task Poison_message_goes_to_the_dead_letter_with_its_error_and_the_key_moves_on()
    {
        await using var scenario = await StartScenarioAsync();
        var user = Guid.NewGuid();

        await scenario.Publisher.PublishAsync(Events.Counted(user, 1), Events.Counted(user, 2, RecordingHandler.Poison), Events.Counted(user, 3));

        var applied = await scenario.AppliedWhenAsync(rows => rows.Any(r => r.Number == 3), "the event after the poison one is handled");
        Assert.Equal([1L, 3L], applied.Select(r => r.Number));
        await Eventually.TrueAsync(async () => (await DeadLettersAsync(scenario.Setup, Consumer)).Count == 1, Patience, "the poison message is dead-lettered");
        var deadLetter = Assert.Single(await DeadLettersAsync(scenario.Setup, Consumer));
        Assert.Equal("streambets.wallet.test-counted.v1", deadLetter.EventType);
        Assert.Contains("Poison pill", deadLetter.Error, StringComparison.Ordinal);
        Assert.Contains("after 3 attempts", deadLetter.Error, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Event_whose_statement_always_times_out_goes_to_the_dead_letter_and_the_key_moves_on()
    {
        await using var scenario = await StartScenarioAsync();
        var user = Guid.NewGuid();

        // A timeout is a transient database error, but the database answers: the event is at fault, not an outage.
        await scenario.Publisher.PublishAsync(Events.Counted(user, 1), Events.Counted(user, 2, RecordingHandler.TimesOut), Events.Counted(user, 3));

        var applied = await scenario.AppliedWhenAsync(rows => rows.Any(r => r.Number == 3), "the event after the timing-out one is handled");
        Assert.Equal([1L, 3L], applied.Select(r => r.Number));
        // Dead letters are written once the whole read is handled, so event 3 can be seen a moment before event 2's.
        await Eventually.TrueAsync(async () => (await DeadLettersAsync(scenario.Setup, Consumer)).Count == 1, Patience, "the timed-out event is dead-lettered");
        var deadLetter = Assert.Single(await DeadLettersAsync(scenario.Setup, Consumer));
        Assert.Contains("after 3 attempts", deadLetter.Error, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Event_handled_while_the_consumers_database_is_down_waits_for_it_without_using_up_attempts()
    {
        var setup = await SetUpAsync();
        await using var postgres = await Testing.TestServers.StartAsync(() => new Testing.PostgresServer());
        var (publisherDb, consumerDb) = (await TestDatabases.CreateAsync("pub"), await TestDatabases.CreateAsync("sub", postgres));
        await using var publisher = await TestService.StartAsync(setup, publisherDb, Publisher);
        await using var consumer = await StartConsumerAsync(setup, consumerDb);
        var user = Guid.NewGuid();
        await publisher.PublishAsync(Events.Counted(user, 1));
        await Eventually.TrueAsync(async () => (await TestDatabases.AppliedAsync(consumerDb)).Count == 1, Patience, "the first event is handled");

        await postgres.StopAsync();
        await publisher.PublishAsync(Events.Counted(user, 2));
        await Task.Delay(TimeSpan.FromSeconds(3)); // far more than 3 attempts' backoff (20, 40 ms)
        await postgres.StartAsync();
        NpgsqlConnection.ClearPool(new NpgsqlConnection(consumerDb)); // the test's own pooled connections died with the server

        await Eventually.TrueAsync(async () => (await TestDatabases.AppliedAsync(consumerDb)).Count == 2, Patience, "the event is handled once the database is back");
        Assert.Empty(await DeadLettersAsync(setup, Consumer));
    }

    /// <summary>
    /// A handler that writes a Redis read model (the Pools service's stakes and leaderboards) meets Redis unavailable for
    /// more tries than <see cref="EventBusOptions.MaxDeliveryAttempts"/> (3 here): first its "not now" answers, then the
    /// server gone (its timeouts, and the dispatcher's PING, fail). An outage, not a poison message, so the event waits
    /// for Redis and its writes land. An error of the handler's own script is the event's and is dead-lettered.
    /// </summary>
    [SkippableFact]
    public async Task Event_handled_while_redis_is_unavailable_waits_for_it_without_using_up_attempts()
    {
        await using var redis = await Testing.TestServers.StartAsync(() => new Testing.RedisServer());
        // Short timeouts: each try meets the outage in half a second instead of five.
        await using var consumerRedis = await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions
        {
            EndPoints = { redis.ConnectionString }, AbortOnConnectFail = false, ConnectTimeout = 500, SyncTimeout = 500, AsyncTimeout = 500,
        });
        await using var scenario = await StartScenarioAsync(consumerRedis);
        var (user, other) = (Guid.NewGuid(), Guid.NewGuid());

        await redis.StopAsync();
        await scenario.Publisher.PublishAsync(Events.Counted(user, 1, RecordingHandler.RedisDown), Events.Counted(other, 1, RecordingHandler.RedisScriptError));
        await Eventually.TrueAsync(() => Task.FromResult(RecordingHandler.RedisTries.GetValueOrDefault((user, 1)) > RecordingHandler.RedisOutage.Length + 3),
            Patience, "the event meets Redis gone more times than it has attempts");
        await redis.StartAsync();

        var applied = await scenario.AppliedWhenAsync(rows => rows.Any(r => r.UserId == user), "the event is handled once Redis is back");
        Assert.Equal([(user, 1L)], applied.Select(r => (r.UserId, r.Number)));
        await Eventually.TrueAsync(async () => (await DeadLettersAsync(scenario.Setup, Consumer)).Count == 1, Patience, "the script error is dead-lettered");
        var deadLetter = Assert.Single(await DeadLettersAsync(scenario.Setup, Consumer));
        Assert.Contains("nonexistent global variable", deadLetter.Error, StringComparison.Ordinal);
        Assert.Contains("after 3 attempts", deadLetter.Error, StringComparison.Ordinal);
    }

    /// <summary>
    /// A handler whose own Redis call always times out (an oversized script call, a huge key) while Redis answers PING:
    /// the event is at fault, not Redis, so it uses up its attempts and is dead-lettered instead of blocking its key.
    /// </summary>
    [SkippableFact]
    public async Task Event_whose_redis_call_always_times_out_while_redis_answers_goes_to_the_dead_letter_and_the_key_moves_on()
    {
        await using var consumerRedis = await ConnectionMultiplexer.ConnectAsync((await Testing.TestServers.RedisAsync()).ConnectionString);
        await using var scenario = await StartScenarioAsync(consumerRedis);
        var user = Guid.NewGuid();

        await scenario.Publisher.PublishAsync(Events.Counted(user, 1), Events.Counted(user, 2, RecordingHandler.RedisTimesOut), Events.Counted(user, 3));

        var applied = await scenario.AppliedWhenAsync(rows => rows.Any(r => r.Number == 3), "the event after the timing-out one is handled");
        Assert.Equal([1L, 3L], applied.Select(r => r.Number));
        var deadLetter = Assert.Single(await DeadLettersAsync(scenario.Setup, Consumer));
        Assert.Contains("RedisTimeoutException", deadLetter.Error, StringComparison.Ordinal);
        Assert.Contains("after 3 attempts", deadLetter.Error, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Dead_letter_re_driven_after_its_fix_is_applied_once_by_its_own_group_alone()
    {
        await using var scenario = await StartScenarioAsync();
        // A second group on the same topic, which dead-letters the same event: the re-drive is not for it.
        var bystanderDb = await TestDatabases.CreateAsync("by");
        await using var bystander = await TestService.StartAsync(scenario.Setup, bystanderDb, "bystander", bus => bus.AddSubscription<Counted, RecordingHandler>());
        await WaitUntilConsumersShareAsync(scenario.Consumer, bystander);
        var user = Guid.NewGuid();
        await scenario.Publisher.PublishAsync(Events.Counted(user, 1), Events.Counted(user, 2, RecordingHandler.Poison), Events.Counted(user, 3));
        await scenario.AppliedWhenAsync(rows => rows.Any(r => r.Number == 3), "the events around the poison one are handled");
        await Eventually.TrueAsync(async () => (await DeadLettersAsync(scenario.Setup, Consumer)).Count == 1
            && (await DeadLettersAsync(scenario.Setup, "bystander")).Count == 1, Patience, "both groups dead-letter the poison message");

        RecordingHandler.Cured[(user, 2)] = true;
        await RedriveAsync(scenario.Setup, Consumer);
        // After the re-drive on the same key: once the bystander handled it, it has seen the re-driven message too.
        await scenario.Publisher.PublishAsync(Events.Counted(user, 4));

        var applied = await scenario.AppliedWhenAsync(rows => rows.Any(r => r.Number == 2) && rows.Any(r => r.Number == 4), "the re-driven event is applied");
        Assert.Equal([1L, 3L, 2L, 4L], applied.Select(r => r.Number));
        await Eventually.TrueAsync(async () => (await TestDatabases.AppliedAsync(bystanderDb)).Any(r => r.Number == 4), Patience, "the bystander handles the next event");
        Assert.Equal([1L, 3L, 4L], (await TestDatabases.AppliedAsync(bystanderDb)).Select(r => r.Number));
        Assert.Single(await DeadLettersAsync(scenario.Setup, "bystander"));
        if (RedriveRemovesTheDeadLetter)
        {
            Assert.Empty(await DeadLettersAsync(scenario.Setup, Consumer));
        }
    }

    [SkippableFact]
    public async Task Consumer_span_continues_the_publishers_trace_and_links_to_the_producer_span()
    {
        using var source = new ActivitySource("StreamBets.Messaging.Tests");
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name.StartsWith("StreamBets.", StringComparison.Ordinal),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        await using var scenario = await StartScenarioAsync();

        string traceId;
        using (var request = source.StartActivity("place bet"))
        {
            traceId = request!.TraceId.ToHexString();
            await scenario.Publisher.PublishAsync(Events.Counted(Guid.NewGuid(), 1));
        }

        var applied = Assert.Single(await scenario.AppliedWhenAsync(rows => rows.Count == 1, "the event is handled"));
        Assert.Equal(traceId, applied.TraceId);
        Assert.True(applied.Linked);
    }

    /// <summary>
    /// The on-call finds why an event was dead-lettered from its trace: the handler's failure logs (3101 for each retry,
    /// 3102 with the last stack trace) carry the event's trace id, and each failed process span holds the exception.
    /// </summary>
    [SkippableFact]
    public async Task Failure_logs_of_a_dead_lettered_event_join_its_trace_and_its_failed_spans_hold_the_exception()
    {
        using var spans = new Testing.RecordedActivities(MessagingTelemetry.Name);
        var logs = new Testing.CollectedLogs();
        await using var scenario = await StartScenarioAsync(consumerLogs: logs);

        await scenario.Publisher.PublishAsync(Events.Counted(Guid.NewGuid(), 1, RecordingHandler.Poison));

        await Eventually.TrueAsync(async () => (await DeadLettersAsync(scenario.Setup, Consumer)).Count == 1, Patience, "the poison event is dead-lettered");
        var deadLettered = Assert.Single(logs.Records, r => r.EventId.Id == 3102);
        var eventId = Assert.IsType<Guid>(deadLettered["EventId"]);
        Assert.IsType<InvalidOperationException>(deadLettered.Exception);
        var ofEvent = spans.Stopped.Where(s => Equals(s.GetTagItem("messaging.message.id"), eventId)).ToArray();
        var published = Assert.Single(ofEvent, s => s.Kind == ActivityKind.Producer);
        var processed = ofEvent.Where(s => s.Kind == ActivityKind.Consumer).ToArray();
        Assert.True(processed.Length >= 3, $"a process span for each of the 3 attempts, found {processed.Length}");

        Assert.Equal(published.TraceId, deadLettered.TraceId);
        var retries = logs.Records.Where(r => r.EventId.Id == 3101).ToArray();
        Assert.Equal(2, retries.Length);
        Assert.All(retries, r => Assert.Equal(published.TraceId, r.TraceId));
        Assert.All(processed, span =>
        {
            Assert.Equal(published.TraceId, span.TraceId);
            Assert.Equal(ActivityStatusCode.Error, span.Status);
            var exception = Assert.Single(span.Events, e => e.Name == "exception");
            var tags = exception.Tags.ToDictionary(t => t.Key, t => t.Value);
            Assert.Equal(typeof(InvalidOperationException).FullName, tags["exception.type"]);
            Assert.Contains(nameof(RecordingHandler), (string)tags["exception.stacktrace"]!, StringComparison.Ordinal);
        });
    }

    [SkippableFact]
    public async Task Handled_duplicate_and_end_to_end_series_are_per_consumer_group_and_topic()
    {
        const string Handled = "streambets.messaging.handled", Duplicates = "streambets.messaging.duplicates", EndToEnd = "streambets.messaging.end_to_end";
        using var metrics = new MessagingMetrics(Handled, Duplicates, EndToEnd);
        // A group of this test's own: the listener hears every host in the process.
        var group = $"tagged{Guid.NewGuid():N}"[..15];
        await using var scenario = await StartScenarioAsync(consumerGroup: group);
        (string, object)[] series = [("messaging.consumer.group.name", group), ("messaging.destination.name", "wallet")];
        var user = Guid.NewGuid();

        await scenario.WriteAsync(Events.Counted(user, 1), commit: true, DuplicateOutboxRowsAsync);
        await scenario.Publisher.PublishAsync(Events.Counted(user, 2), Events.Counted(user, 3));

        await scenario.AppliedWhenAsync(rows => rows.Count == 3, "the three events are handled");
        await Eventually.TrueAsync(() => Task.FromResult(metrics.Counted(Duplicates, series) == 1), Patience, "the copy is counted a duplicate");
        Assert.Equal(3, metrics.Counted(Handled, series));
        Assert.Equal(3, metrics.Measurements(EndToEnd, series));
    }
}
