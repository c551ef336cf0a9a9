using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
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
    private readonly List<Process> _processes = [];
    private readonly PostgresServer _postgres = new();
    private readonly RedisServer _redis = new();
    private IHost? _publisher;
    private string _publisherDb = "";

    public string SigningKey { get; } = $"benchmark-signing-key-{Guid.NewGuid():N}";
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
        foreach (var process in _processes)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
            process.Dispose();
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
        const string project = "StreamBets.Realtime";
        var dll = Path.Combine(RepositoryRoot(), "services", project, "bin", "Release", "net10.0", $"{project}.dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"Build the service first: dotnet build -c Release services/{project}", dll);
        }

        var port = FreePort();
        var start = new ProcessStartInfo("dotnet", [dll])
        {
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["ConnectionStrings__redis"] = _redis.ConnectionString;
        start.Environment["Auth__SigningKey"] = SigningKey;
        start.Environment["Messaging__RedisStreams__KeyPrefix"] = busPrefix;
        start.Environment["Kestrel__Endpoints__http__Url"] = $"http://127.0.0.1:{port}";
        start.Environment["DOTNET_gcServer"] = "1";

        var process = Process.Start(start)!;
        _processes.Add(process);
        var log = new StreamWriter(Path.Combine(_postgres.DataDirectory, $"realtime-{replica}.log")) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var url = $"http://127.0.0.1:{port}";
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"Realtime exited with code {process.ExitCode}; see {_postgres.DataDirectory}/realtime-{replica}.log");
            }
            try
            {
                if ((await http.GetAsync($"{url}/health")).IsSuccessStatusCode)
                {
                    Console.WriteLine($"Realtime replica {replica} is up at {url}");
                    return url;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }
            await Task.Delay(250);
        }
        throw new TimeoutException($"Realtime did not become healthy; see {_postgres.DataDirectory}/realtime-{replica}.log");
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "StreamBets.sln")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException("Run the harness from inside the repository.");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
