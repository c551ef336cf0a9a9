using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;
using StreamBets.Testing;

namespace StreamBets.Realtime.Tests;

/// <summary>
/// Stands in for the services that publish (Pools, Bet Engine, Settlement, Users): a host with the real event bus, whose
/// outbox lives in a database of its own. Events go outbox -> relay -> Redis Streams -> Realtime's consumer group.
/// </summary>
public sealed class EventPublisher : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly string _connectionString;

    private EventPublisher(IHost host, string connectionString)
    {
        _host = host;
        _connectionString = connectionString;
    }

    public static async Task<EventPublisher> StartAsync(string redis, string busPrefix)
    {
        var database = await (await TestServers.PostgresAsync()).CreateDatabaseAsync("realtime_publisher");
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ApplicationName = "StreamBets.Realtime.Tests", DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:redis"] = redis,
            ["ConnectionStrings:publisherdb"] = database,
            ["Messaging:RedisStreams:KeyPrefix"] = busPrefix,
        });
        builder.AddEventBus("publisherdb", options => options.ServiceName = "test-publisher");
        var host = builder.Build();
        await host.StartAsync();
        return new EventPublisher(host, database);
    }

    /// <summary>Writes the events in one transaction, as a service's own code does; the relay publishes them in this order.</summary>
    public async Task PublishAsync(params IIntegrationEvent[] events)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await _host.Services.GetRequiredService<IOutbox>().AddRangeAsync(transaction, events);
        await transaction.CommitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _host.StopAsync(timeout.Token);
        _host.Dispose();
    }
}
