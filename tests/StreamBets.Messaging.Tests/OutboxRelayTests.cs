using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using StreamBets.Messaging.Outbox;
using StreamBets.Messaging.Transports;
using StreamBets.Testing;

namespace StreamBets.Messaging.Tests;

/// <summary>What the relay tells the on-call when events do not leave the outbox, against the machine's PostgreSQL and Redis.</summary>
public sealed class OutboxRelayTests
{
    private const long RelayLockKey = 0x5342_4F55_5442_4F58; // OutboxRelay's leader lock, "SBOUTBOX"
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Outbox_backlog_is_reported_while_no_replica_holds_the_relay_lock()
    {
        var database = await TestDatabases.CreateAsync("pub");
        var service = $"leaderless{Guid.NewGuid():N}"[..16];
        using var metrics = new MessagingMetrics("streambets.messaging.outbox.pending", "streambets.messaging.outbox.oldest_age");
        // A leader whose node died: PostgreSQL keeps its session, and with it the lock, until TCP keepalive gives up.
        await using var deadLeader = new NpgsqlConnection(database);
        await deadLeader.OpenAsync();
        await using (var takeLock = new NpgsqlCommand("SELECT pg_advisory_lock($1)", deadLeader))
        {
            takeLock.Parameters.AddWithValue(RelayLockKey);
            await takeLock.ExecuteNonQueryAsync();
        }
        await using var replica = await TestService.StartAsync(await SetUpAsync(), database, service);

        await replica.PublishAsync(Events.Counted(Guid.NewGuid(), 1), Events.Counted(Guid.NewGuid(), 2));

        await Eventually.TrueAsync(
            () => Task.FromResult(metrics.Gauge("streambets.messaging.outbox.pending", ("service", service)) == 2
                && metrics.Gauge("streambets.messaging.outbox.oldest_age", ("service", service)) > 0),
            Patience, "a replica that does not lead reports the two waiting events and their age");
        Assert.False(replica.Relay.IsLeader);
        Assert.Equal(2, await TestDatabases.CountAsync(database, "SELECT count(*) FROM outbox"));
    }

    [Fact]
    public async Task While_the_outbox_cannot_be_measured_its_lag_sample_age_grows_and_the_next_measurement_resets_it()
    {
        const string SampleAge = "streambets.messaging.outbox.lag_sample_age";
        var database = await TestDatabases.CreateAsync("pub");
        var service = $"lagage{Guid.NewGuid():N}"[..16];
        var clock = new AdjustableClock(); // real timers, and a "now" the test moves forward
        var logs = new CollectedLogs();
        using var metrics = new MessagingMetrics(SampleAge);
        await using var replica = await TestService.StartAsync(await SetUpAsync(), database, service, bus =>
        {
            bus.Services.AddSingleton<TimeProvider>(clock);
            bus.Services.AddSingleton<ILoggerProvider>(logs);
        });
        double? AgeNow() => metrics.Gauge(SampleAge, ("service", service));
        int Unread() => logs.Records.Count(e => e.EventId.Id == 3006);
        await Eventually.TrueAsync(() => Task.FromResult(replica.Relay.IsLeader), Patience, "the replica leads (its schema is migrated)");
        Assert.InRange(AgeNow() ?? double.NaN, 0, 1);

        // The outbox cannot be read for ten minutes: every sample fails, and keeps the last pending and oldest_age.
        await TestDatabases.CountAsync(database, "ALTER TABLE outbox RENAME TO outbox_away; SELECT 0");
        var unread = Unread();
        await Eventually.TrueAsync(() => Task.FromResult(Unread() >= unread + 3), Patience, "the failed samples are logged");
        clock.Advance(TimeSpan.FromMinutes(10));
        unread = Unread();
        await Eventually.TrueAsync(() => Task.FromResult(Unread() >= unread + 3), Patience, "the samples go on failing");
        Assert.InRange(AgeNow() ?? double.NaN, 600, 700);

        await TestDatabases.CountAsync(database, "ALTER TABLE outbox_away RENAME TO outbox; SELECT 0");
        await Eventually.TrueAsync(() => Task.FromResult(AgeNow() < 1), Patience, "a sample that succeeds brings the sample age back to about 0");
    }

    [Fact]
    public async Task A_refused_publish_is_logged_with_the_brokers_error()
    {
        var database = await TestDatabases.CreateAsync("pub");
        var logs = new CollectedLogs();
        var refusal = new KafkaException(ErrorCode.MsgSizeTooLarge); // "Broker: Message size too large": retrying never heals it
        await using var replica = await TestService.StartAsync(await SetUpAsync(), database, "wallet", bus =>
        {
            bus.Services.AddSingleton<IEventPublisher>(new RefusingPublisher(refusal));
            bus.Services.AddSingleton<ILoggerProvider>(logs);
        });

        await replica.PublishAsync(Events.Counted(Guid.NewGuid(), 1));

        await Eventually.TrueAsync(() => Task.FromResult(logs.Records.Any(e => e.EventId.Id == 3002)), Patience, "the relay logs the failed publish");
        var failure = logs.Records.First(e => e.EventId.Id == 3002);
        Assert.Equal(typeof(OutboxRelay).FullName, failure.Category);
        Assert.Same(refusal, failure.Exception);
        Assert.Equal(1, await TestDatabases.CountAsync(database, $"SELECT count(*) FROM outbox WHERE attempts > 0 AND last_error = '{refusal.Message}'"));
    }

    [Fact]
    public async Task A_key_blocked_by_a_refused_event_does_not_hold_back_other_keys_however_many_events_it_queues()
    {
        var database = await TestDatabases.CreateAsync("pub");
        var blockedUser = Guid.NewGuid();
        var otherUser = Guid.NewGuid();
        var broker = new RefusingOneEventPublisher(blockedUser.ToString(), new KafkaException(ErrorCode.MsgSizeTooLarge));
        await using var replica = await TestService.StartAsync(await SetUpAsync(), database, "wallet", bus =>
            bus.Services.AddSingleton<IEventPublisher>(broker));

        // The refused event, then more events of its key than a relay batch holds (Users' "wallets" key gets every
        // ledger batch), then one event of another key.
        await replica.PublishAsync(Events.Counted(blockedUser, 0));
        await replica.PublishAsync([.. Enumerable.Range(1, 1_001).Select(n => Events.Counted(blockedUser, n))]);
        await replica.PublishAsync(Events.Counted(otherUser, 1));

        await Eventually.TrueAsync(() => Task.FromResult(broker.Acknowledged.Any(m => m.Key == otherUser.ToString())),
            TimeSpan.FromSeconds(10), "the other key's event is published");
        // The broker acknowledges before the relay deletes the row: wait for the delete, not just the acknowledgement.
        await Eventually.TrueAsync(async () => await TestDatabases.CountAsync(database, $"SELECT count(*) FROM outbox WHERE partition_key = '{otherUser}'") == 0,
            TimeSpan.FromSeconds(10), "the other key's row is deleted once acknowledged");
        Assert.DoesNotContain(broker.Acknowledged, m => m.Key == blockedUser.ToString());
        Assert.Equal(1_002, await TestDatabases.CountAsync(database, $"SELECT count(*) FROM outbox WHERE partition_key = '{blockedUser}'"));
    }

    [Fact]
    public async Task With_the_broker_down_the_relay_backs_off_as_a_whole_rather_than_sweeping_every_key_back_to_back()
    {
        var database = await TestDatabases.CreateAsync("pub");
        var broker = new RefusingPublisher(new KafkaException(ErrorCode.Local_Transport));
        await using var replica = await TestService.StartAsync(await SetUpAsync(), database, "wallet", bus =>
            bus.Services.AddSingleton<IEventPublisher>(broker), configure: options =>
            {
                // The defaults, not the tests' quick retries.
                options.RetryInitialDelay = TimeSpan.FromMilliseconds(200);
                options.RetryMaxDelay = TimeSpan.FromSeconds(30);
            });

        // Three relay batches of distinct keys: each key backs off on its own, and the relay as a whole too.
        await replica.PublishAsync([.. Enumerable.Range(0, 3_000).Select(n => Events.Counted(Guid.NewGuid(), n))]);
        await Eventually.TrueAsync(() => Task.FromResult(broker.Calls > 0), Patience, "the relay tries the broker");
        var before = broker.Calls;
        await Task.Delay(TimeSpan.FromSeconds(3));

        // Backing off from 200 ms and doubling: about four rounds in 3 s, not one per batch and key retry.
        Assert.InRange(broker.Calls - before, 1, 6);
        Assert.Equal(3_000, await TestDatabases.CountAsync(database, "SELECT count(*) FROM outbox"));
    }

    [Fact]
    public async Task A_leader_whose_publishing_loop_fails_frees_the_relay_lock_for_another_replica_at_once()
    {
        var database = await TestDatabases.CreateAsync("pub");
        var setup = await SetUpAsync();
        // The first leader tries to lead again only after 30 s and samples no lag meanwhile, so nothing of its own
        // reuses its pooled connections: another replica can lead before then only if the failed leader freed the lock.
        await using var first = await TestService.StartAsync(setup, database, "wallet", configure: options =>
        {
            options.Relay.LeaderRetryInterval = TimeSpan.FromSeconds(30);
            options.Relay.LagSampleInterval = TimeSpan.FromHours(1);
        });
        await Eventually.TrueAsync(() => Task.FromResult(first.Relay.IsLeader), Patience, "the first replica leads");
        await using var second = await TestService.StartAsync(setup, database, "wallet");

        // The leader's next read of the outbox fails, while its lock session stays healthy.
        await TestDatabases.CountAsync(database, "ALTER TABLE outbox RENAME TO outbox_away; SELECT 0");
        await Eventually.TrueAsync(() => Task.FromResult(!first.Relay.IsLeader), Patience, "the first replica's publishing fails");
        await TestDatabases.CountAsync(database, "ALTER TABLE outbox_away RENAME TO outbox; SELECT 0");
        await second.PublishAsync(Events.Counted(Guid.NewGuid(), 1));

        // The second replica retries every 200 ms; 5 s leaves room for a loaded machine and is far below 30 s.
        await Eventually.TrueAsync(async () => await TestDatabases.CountAsync(database, "SELECT count(*) FROM outbox") == 0,
            TimeSpan.FromSeconds(5), "the second replica leads and publishes the event written after the failure");
        Assert.True(second.Relay.IsLeader);
    }

    [Fact]
    public async Task Cleaning_a_large_expired_inbox_neither_holds_back_publishing_nor_ends_the_leadership()
    {
        var database = await InboxDatabaseAsync(expired: 50_000);
        // A disk that deletes 10,000 rows a second against a 2 s command timeout: one DELETE of the whole expired
        // inbox takes 5 s and times out, as a production inbox of millions of rows did against Npgsql's 30 s.
        await TestDatabases.CountAsync(database, """
            CREATE FUNCTION slow_inbox_delete() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM pg_sleep((SELECT count(*) FROM deleted) * 0.0001); RETURN NULL; END $$;
            CREATE TRIGGER slow_inbox_delete AFTER DELETE ON inbox REFERENCING OLD TABLE AS deleted
                FOR EACH STATEMENT EXECUTE FUNCTION slow_inbox_delete();
            SELECT 0
            """);
        var logs = new CollectedLogs();
        await using var replica = await TestService.StartAsync(await SetUpAsync(), database + ";Command Timeout=2", "wallet",
            bus => bus.Services.AddSingleton<ILoggerProvider>(logs));
        await Eventually.TrueAsync(() => Task.FromResult(replica.Relay.IsLeader), Patience, "the replica leads");

        await replica.PublishAsync(Events.Counted(Guid.NewGuid(), 1));

        await Eventually.TrueAsync(async () => await TestDatabases.CountAsync(database, "SELECT count(*) FROM outbox") == 0,
            TimeSpan.FromSeconds(3), "the event is published while the inbox is being cleaned");
        await Eventually.TrueAsync(async () => await TestDatabases.CountAsync(database, "SELECT count(*) FROM inbox") == 1,
            Patience, "every expired inbox row is deleted");
        Assert.Equal(0, await TestDatabases.CountAsync(database, "SELECT count(*) FROM inbox WHERE processed_at < now() - interval '1 day'"));
        // The cleanup logs its total after its last batch commits (and, at a whole number of batches, one empty batch more).
        await Eventually.TrueAsync(() => Task.FromResult(
                logs.Records.Where(e => e.EventId.Id == 3004).Sum(e => Convert.ToInt64(e["Count"], System.Globalization.CultureInfo.InvariantCulture)) == 50_000L),
            Patience, "the cleanup logs the 50,000 rows it deleted");
        Assert.True(replica.Relay.IsLeader);
        Assert.Single(logs.Records, e => e.EventId.Id == 3001);
        Assert.DoesNotContain(logs.Records, e => e.EventId.Id is 3003 or 3007);
    }

    [Fact]
    public async Task A_failing_inbox_cleanup_is_logged_and_retried_while_the_leader_goes_on_publishing()
    {
        var database = await InboxDatabaseAsync(expired: 1_000);
        await TestDatabases.CountAsync(database, """
            CREATE FUNCTION refuse_inbox_delete() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'inbox deletes refused by the test'; END $$;
            CREATE TRIGGER refuse_inbox_delete BEFORE DELETE ON inbox FOR EACH STATEMENT EXECUTE FUNCTION refuse_inbox_delete();
            SELECT 0
            """);
        var logs = new CollectedLogs();
        await using var replica = await TestService.StartAsync(await SetUpAsync(), database, "wallet",
            bus => bus.Services.AddSingleton<ILoggerProvider>(logs),
            configure: options => options.Relay.InboxCleanupRetryDelay = TimeSpan.FromMilliseconds(200));

        await Eventually.TrueAsync(() => Task.FromResult(logs.Records.Count(e => e.EventId.Id == 3007) >= 2), Patience,
            "the failed cleanup is logged and tried again");
        await replica.PublishAsync(Events.Counted(Guid.NewGuid(), 1));
        await Eventually.TrueAsync(async () => await TestDatabases.CountAsync(database, "SELECT count(*) FROM outbox") == 0,
            TimeSpan.FromSeconds(3), "the leader publishes while its cleanup fails");

        await TestDatabases.CountAsync(database, "DROP TRIGGER refuse_inbox_delete ON inbox; SELECT 0");
        await Eventually.TrueAsync(async () => await TestDatabases.CountAsync(database, "SELECT count(*) FROM inbox") == 1,
            Patience, "a later try deletes the expired rows");
        Assert.True(replica.Relay.IsLeader);
        Assert.Single(logs.Records, e => e.EventId.Id == 3001);
        Assert.DoesNotContain(logs.Records, e => e.EventId.Id == 3003);
    }

    /// <summary>A migrated service database whose inbox holds that many rows past the 7-day retention and one fresh row.</summary>
    private static async Task<string> InboxDatabaseAsync(int expired)
    {
        var database = await TestDatabases.CreateAsync("pub");
        await PostgresSchema.MigrateAsync(database, typeof(EventBusExtensions).Assembly);
        await TestDatabases.CountAsync(database, $"""
            INSERT INTO inbox (consumer_group, event_id, event_type, processed_at)
            SELECT 'wallet', gen_random_uuid(), 'streambets.wallet.test-counted.v1', now() - interval '8 days' - n * interval '1 ms'
            FROM generate_series(1, {expired}) AS n;
            INSERT INTO inbox (consumer_group, event_id, event_type) VALUES ('wallet', gen_random_uuid(), 'streambets.wallet.test-counted.v1');
            SELECT 0
            """);
        return database;
    }

    private static async Task<BusSetup> SetUpAsync() => new(
        MessagingTransport.RedisStreams,
        new Dictionary<string, string?> { ["ConnectionStrings:redis"] = (await TestServers.RedisAsync()).ConnectionString },
        $"t{Guid.NewGuid():N}"[..12]);

    /// <summary>
    /// A broker that refuses, for good, the first event of one key it is sent, and (as a real transport, which sends a
    /// key's events in order) every later event of that key in the same round; it acknowledges everything else.
    /// </summary>
    private sealed class RefusingOneEventPublisher(string key, Exception refusal) : IEventPublisher
    {
        private long? _refusedPosition;

        public System.Collections.Concurrent.ConcurrentQueue<OutgoingMessage> Acknowledged { get; } = new();

        public Task<Exception?[]> PublishAsync(IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken)
        {
            var results = new Exception?[messages.Count];
            var refusing = false;
            for (var i = 0; i < messages.Count; i++)
            {
                if (messages[i].Key == key)
                {
                    _refusedPosition ??= messages[i].Position;
                    refusing |= messages[i].Position == _refusedPosition;
                }
                if (refusing && messages[i].Key == key)
                {
                    results[i] = refusal;
                }
                else
                {
                    Acknowledged.Enqueue(messages[i]);
                }
            }
            return Task.FromResult(results);
        }
    }

    /// <summary>A broker that refuses every message the same way.</summary>
    private sealed class RefusingPublisher(Exception refusal) : IEventPublisher
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public Task<Exception?[]> PublishAsync(IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            return Task.FromException<Exception?[]>(refusal);
        }
    }
}
