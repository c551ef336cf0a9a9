using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging.Consuming;
using StreamBets.Messaging.Outbox;

namespace StreamBets.Messaging.Tests;

/// <summary>A service replica in the test: a generic host with the event bus registered the way services register it.</summary>
internal sealed class TestService : IAsyncDisposable
{
    private TestService(IHost host, string connectionString)
    {
        Host = host;
        ConnectionString = connectionString;
    }

    public IHost Host { get; }
    public string ConnectionString { get; }
    public string InstanceName => Host.Services.GetRequiredService<EventBusIdentity>().InstanceName;
    public OutboxRelay Relay => Host.Services.GetRequiredService<OutboxRelay>();
    public EventDispatcher Dispatcher => Host.Services.GetRequiredService<EventDispatcher>();

    public static async Task<TestService> StartAsync(
        BusSetup setup,
        string connectionString,
        string serviceName,
        Action<IEventBusBuilder>? subscribe = null,
        Action<TestService>? beforeStart = null,
        Action<EventBusOptions>? configure = null)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            ApplicationName = "StreamBets.Messaging.Tests",
            DisableDefaults = true,
        });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>(setup.ConnectionStrings)
        {
            ["ConnectionStrings:servicedb"] = connectionString,
            ["Messaging:Transport"] = setup.Transport.ToString(),
            ["Messaging:ConsumerLagSampleInterval"] = "00:00:00.100",
        });
        if (Environment.GetEnvironmentVariable("STREAMBETS_TEST_LOGS") == "1")
        {
            builder.Logging.AddSimpleConsole(o => o.TimestampFormat = "HH:mm:ss.fff ").SetMinimumLevel(LogLevel.Debug);
        }
        var bus = builder.AddEventBus("servicedb", options =>
        {
            options.ServiceName = serviceName;
            options.MaxDeliveryAttempts = 3;
            options.RetryInitialDelay = TimeSpan.FromMilliseconds(20);
            options.RetryMaxDelay = TimeSpan.FromMilliseconds(500);
            options.Relay.PollInterval = TimeSpan.FromMilliseconds(250);
            options.Relay.LeaderRetryInterval = TimeSpan.FromMilliseconds(200);
            options.Relay.LagSampleInterval = TimeSpan.FromMilliseconds(100);
            options.RedisStreams.KeyPrefix = setup.Prefix;
            options.RedisStreams.PartitionsPerTopic = 8;
            options.RedisStreams.LeaseDuration = TimeSpan.FromSeconds(1);
            options.RedisStreams.IdlePollMax = TimeSpan.FromMilliseconds(10);
            options.Kafka.TopicPrefix = setup.Prefix + ".";
            options.Kafka.Partitions = 8;
            options.Kafka.SessionTimeoutMs = 6000;
            configure?.Invoke(options);
        });
        subscribe?.Invoke(bus);
        var service = new TestService(builder.Build(), connectionString);
        beforeStart?.Invoke(service);
        await service.Host.StartAsync();
        return service;
    }

    /// <summary>Writes the events in one transaction of the service database, as a service's own code does.</summary>
    public async Task PublishAsync(params IIntegrationEvent[] events)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await Host.Services.GetRequiredService<IOutbox>().AddRangeAsync(transaction, events);
        await transaction.CommitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await Host.StopAsync(timeout.Token);
        Host.Dispose();
    }
}

/// <summary>Which transport a contract run uses, and how to reach it; the prefix isolates each test's streams or topics.</summary>
public sealed record BusSetup(MessagingTransport Transport, IReadOnlyDictionary<string, string?> ConnectionStrings, string Prefix);

/// <summary>A test's own databases, with the table the recording handler writes to.</summary>
internal static class TestDatabases
{
    /// <param name="server">A server of the test's own (to stop it), or null for the shared one.</param>
    public static async Task<string> CreateAsync(string prefix, Testing.PostgresServer? server = null)
    {
        var postgres = server ?? await Testing.TestServers.PostgresAsync();
        var connectionString = await postgres.CreateDatabaseAsync(prefix);
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var create = new NpgsqlCommand("""
            CREATE TABLE applied (
                seq        bigserial PRIMARY KEY,
                event_id   uuid   NOT NULL,
                user_id    uuid   NOT NULL,
                number     bigint NOT NULL,
                handled_by text   NOT NULL,
                trace_id   text,
                linked     boolean NOT NULL DEFAULT false
            )
            """, connection);
        await create.ExecuteNonQueryAsync();
        return connectionString;
    }

    public static async Task<List<AppliedRow>> AppliedAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var read = new NpgsqlCommand("SELECT event_id, user_id, number, handled_by, trace_id, linked FROM applied ORDER BY seq", connection);
        await using var reader = await read.ExecuteReaderAsync();
        var rows = new List<AppliedRow>();
        while (await reader.ReadAsync())
        {
            rows.Add(new AppliedRow(reader.GetGuid(0), reader.GetGuid(1), reader.GetInt64(2), reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetBoolean(5)));
        }
        return rows;
    }

    public static async Task<long> CountAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await count.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}

internal sealed record AppliedRow(Guid EventId, Guid UserId, long Number, string HandledBy, string? TraceId, bool Linked);

/// <summary>
/// The handler under test: records each Counted event (a per-user sequence number) in the same
/// transaction as the inbox row. A reason of "poison" fails until the test cures that event; "times-out" runs a
/// statement that always exceeds its command timeout; "redis-down" meets Redis's "not now" answers on its first
/// <see cref="RedisOutage"/>.Length tries, then writes to the service's Redis (which the test may have stopped);
/// "redis-script-error" always meets an error of its own Redis script; "redis-times-out" always times out in Redis, as
/// an oversized call does, while the service's Redis answers.
/// </summary>
internal sealed class RecordingHandler(EventBusIdentity identity, StackExchange.Redis.IConnectionMultiplexer? redis = null) : IIntegrationEventHandler<Counted>
{
    public const string Poison = "poison";
    public const string TimesOut = "times-out";
    public const string RedisDown = "redis-down";
    public const string RedisScriptError = "redis-script-error";
    public const string RedisTimesOut = "redis-times-out";

    /// <summary>Poisoned events (user, number) that apply from now on, as after an operator fixed their cause.</summary>
    public static readonly System.Collections.Concurrent.ConcurrentDictionary<(Guid UserId, long Number), bool> Cured = new();

    /// <summary>Answers of a Redis that refuses every write for now, in the order a "redis-down" event meets them.</summary>
    public static readonly Func<Exception>[] RedisOutage =
    [
        () => new StackExchange.Redis.RedisServerException("OOM command not allowed when used memory > 'maxmemory'."),
        () => new StackExchange.Redis.RedisServerException("READONLY You can't write against a read only replica."),
        () => new StackExchange.Redis.RedisServerException("LOADING Redis is loading the dataset in memory"),
    ];

    /// <summary>How many times each "redis-down" event (user, number) has been tried.</summary>
    public static readonly System.Collections.Concurrent.ConcurrentDictionary<(Guid UserId, long Number), int> RedisTries = new();

    public async Task HandleAsync(Counted @event, IntegrationEventContext context, CancellationToken cancellationToken)
    {
        if (@event.Reason == Poison && !Cured.ContainsKey((@event.UserId, @event.Number)))
        {
            throw new InvalidOperationException($"Poison pill {@event.UserId}/{@event.Number} cannot be applied");
        }
        if (@event.Reason == RedisDown && RedisTries.AddOrUpdate((@event.UserId, @event.Number), 1, (_, tries) => tries + 1) is var tries
            && tries <= RedisOutage.Length)
        {
            throw RedisOutage[tries - 1]();
        }
        if (@event.Reason == RedisDown)
        {
            await redis!.GetDatabase().StringIncrementAsync($"applied:{context.EventId}");
        }
        if (@event.Reason == RedisTimesOut)
        {
            throw new StackExchange.Redis.RedisTimeoutException("Timeout performing EVALSHA (5000ms), inst: 0, qu: 0, qs: 1", StackExchange.Redis.CommandStatus.Sent);
        }
        if (@event.Reason == RedisScriptError)
        {
            throw new StackExchange.Redis.RedisServerException("ERR user_script:3: Script attempted to access nonexistent global variable 'cutof'");
        }
        if (@event.Reason == TimesOut)
        {
            await using var slow = new NpgsqlCommand("SELECT pg_sleep(5)", context.Connection, context.Transaction) { CommandTimeout = 1 };
            await slow.ExecuteNonQueryAsync(cancellationToken);
        }
        var activity = System.Diagnostics.Activity.Current;
        await using var insert = new NpgsqlCommand(
            "INSERT INTO applied (event_id, user_id, number, handled_by, trace_id, linked) VALUES ($1, $2, $3, $4, $5, $6)",
            context.Connection, context.Transaction);
        insert.Parameters.AddWithValue(context.EventId);
        insert.Parameters.AddWithValue(@event.UserId);
        insert.Parameters.AddWithValue(@event.Number);
        insert.Parameters.AddWithValue(identity.InstanceName);
        insert.Parameters.AddWithValue((object?)activity?.TraceId.ToHexString() ?? DBNull.Value);
        insert.Parameters.AddWithValue(activity?.Links.Any() ?? false);
        await insert.ExecuteNonQueryAsync(cancellationToken);
    }
}

/// <summary>A handler that hangs, as on a lock that is never released, until the test lets every event through.</summary>
internal sealed class StalledHandler(StalledHandler.Gate gate) : IIntegrationEventHandler<Counted>
{
    public sealed record Gate(TaskCompletionSource Opened);

    public Task HandleAsync(Counted @event, IntegrationEventContext context, CancellationToken cancellationToken) =>
        gate.Opened.Task.WaitAsync(cancellationToken);
}

internal static class Eventually
{
    public static async Task TrueAsync(Func<Task<bool>> condition, TimeSpan timeout, string because)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out after {timeout.TotalSeconds:F0} s waiting until {because}.");
            }
            await Task.Delay(50);
        }
    }
}

internal static class Events
{
    public static Counted Counted(Guid userId, long number, string reason = "test") => new(userId, number, reason);
}

/// <summary>
/// The tests' event: numbered per user and keyed by user, so events of one user share a partition and those of many
/// users spread over all of them. Its own type, so these tests do not change when a contract does.
/// </summary>
[IntegrationEvent("streambets.wallet.test-counted.v1", IntegrationTopics.Wallet)]
internal sealed record Counted(Guid UserId, long Number, string Reason) : IIntegrationEvent
{
    [System.Text.Json.Serialization.JsonIgnore] public string AggregateId => UserId.ToString();
}
