using Confluent.Kafka;
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

        await Eventually.TrueAsync(() => Task.FromResult(logs.Entries.Any(e => e.EventId.Id == 3002)), Patience, "the relay logs the failed publish");
        var failure = logs.Entries.First(e => e.EventId.Id == 3002);
        Assert.Equal(typeof(OutboxRelay).FullName, failure.Category);
        Assert.Same(refusal, failure.Exception);
        Assert.Equal(1, await TestDatabases.CountAsync(database, $"SELECT count(*) FROM outbox WHERE attempts > 0 AND last_error = '{refusal.Message}'"));
    }

    private static async Task<BusSetup> SetUpAsync() => new(
        MessagingTransport.RedisStreams,
        new Dictionary<string, string?> { ["ConnectionStrings:redis"] = (await TestServers.RedisAsync()).ConnectionString },
        $"t{Guid.NewGuid():N}"[..12]);

    /// <summary>A broker that refuses every message the same way.</summary>
    private sealed class RefusingPublisher(Exception refusal) : IEventPublisher
    {
        public Task<Exception?[]> PublishAsync(IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken) =>
            Task.FromException<Exception?[]>(refusal);
    }
}
