using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;
using StreamBets.Testing;

namespace StreamBets.Realtime.Benchmarks;

/// <summary>
/// Redis and PostgreSQL from the machine's packages, the Realtime service's Release build in its own process(es), and a
/// publisher on the real event bus standing in for the Bet Engine (its outbox in a database of its own).
/// </summary>
public sealed class SelfHostedRealtime : IAsyncDisposable
{
    private ServiceProcesses? _replicas;
    private readonly PostgresServer _postgres = new();
    private readonly RedisServer _redis = new();
    private IHost? _publisher;
    private string _publisherDb = "";

    public List<string> Urls { get; } = [];

    public static async Task<SelfHostedRealtime> StartAsync(int replicas)
    {
        var stack = new SelfHostedRealtime();
        try
        {
            await Task.WhenAll(stack._postgres.StartAsync(), stack._redis.StartAsync());
            Console.WriteLine($"PostgreSQL on {stack._postgres.Port}, Redis on {stack._redis.Port}; logs in {stack._postgres.DataDirectory}");
            var busPrefix = $"bench-{Guid.NewGuid():N}";
            for (var i = 0; i < replicas; i++)
            {
                stack.Urls.Add(await stack.StartRealtimeAsync(i, busPrefix));
            }
            await stack.StartPublisherAsync(busPrefix);
            return stack;
        }
        catch
        {
            await stack.DisposeAsync();
            throw;
        }
    }

    /// <summary>One odds change, written to the outbox in its own transaction as the Bet Engine writes it.</summary>
    public async Task PublishAsync(IIntegrationEvent @event)
    {
        await using var connection = new NpgsqlConnection(_publisherDb);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await _publisher!.Services.GetRequiredService<IOutbox>().AddAsync(transaction, @event);
        await transaction.CommitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_publisher is not null)
        {
            await _publisher.StopAsync();
            _publisher.Dispose();
        }
        if (_replicas is not null)
        {
            await _replicas.DisposeAsync();
        }
        await _redis.DisposeAsync();
        await _postgres.DisposeAsync();
    }

    private async Task StartPublisherAsync(string busPrefix)
    {
        _publisherDb = await _postgres.CreateDatabaseAsync("fanout_publisher");
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ApplicationName = "StreamBets.Realtime.Benchmarks", DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:redis"] = _redis.ConnectionString,
            ["ConnectionStrings:publisherdb"] = _publisherDb,
            ["Messaging:RedisStreams:KeyPrefix"] = busPrefix,
        });
        builder.AddEventBus("publisherdb", options => options.ServiceName = "betengine-stand-in");
        _publisher = builder.Build();
        await _publisher.StartAsync();
    }

    private async Task<string> StartRealtimeAsync(int replica, string busPrefix)
    {
        var environment = new Dictionary<string, string>
        {
            ["Logging__LogLevel__Default"] = "Warning",
            ["ConnectionStrings__redis"] = _redis.ConnectionString,
            ["Auth__PublicKey"] = TestTokens.Shared.PublicKey, // its viewers connect anonymously
            ["Messaging__RedisStreams__KeyPrefix"] = busPrefix,
            ["DOTNET_gcServer"] = "1",
        };
        _replicas ??= new ServiceProcesses(_postgres.DataDirectory);
        var url = await _replicas.StartAsync("StreamBets.Realtime", ServicePorts.Free(), environment, $"realtime-{replica}");
        Console.WriteLine($"Realtime replica {replica} is up at {url}");
        return url;
    }
}
