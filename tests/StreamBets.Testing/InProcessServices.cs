using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Hosting;
using Npgsql;
using StackExchange.Redis;

namespace StreamBets.Testing;

/// <summary>A service's two Kestrel endpoints: "http" (REST, health) and "grpc" (HTTP/2 only), on free loopback ports.</summary>
public sealed record ServicePorts(int Http, int Grpc)
{
    public static ServicePorts Free() => new(InProcessServices.FreePort(), InProcessServices.FreePort());

    public string HttpUrl => $"http://127.0.0.1:{Http}";

    public string GrpcUrl => $"http://127.0.0.1:{Grpc}";
}

/// <summary>
/// Hosts StreamBets services in the test process the way the AppHost runs them: real Kestrel ports, real gRPC (h2c),
/// each on its own fresh PostgreSQL database, all on one Redis and one event-bus key prefix so events really travel.
/// </summary>
public static class InProcessServices
{
    /// <summary>Starts the service of <typeparamref name="TEntryPoint"/>'s assembly on Kestrel at <paramref name="ports"/>.</summary>
    public static WebApplicationFactory<TEntryPoint> StartOnKestrel<TEntryPoint>(
        ServicePorts ports, IEnumerable<KeyValuePair<string, string?>> settings, Action<IWebHostBuilder>? configure = null)
        where TEntryPoint : class
    {
        var factory = new WebApplicationFactory<TEntryPoint>().WithWebHostBuilder(web =>
        {
            web.UseEnvironment(Environments.Development);
            foreach (var (key, value) in settings)
            {
                web.UseSetting(key, value);
            }
            web.UseSetting("Kestrel:Endpoints:http:Url", ports.HttpUrl);
            web.UseSetting("Kestrel:Endpoints:grpc:Url", ports.GrpcUrl);
            configure?.Invoke(web);
        });
        factory.UseKestrel();
        factory.StartServer();
        return factory;
    }

    /// <summary>Starts the service of <typeparamref name="TEntryPoint"/>'s assembly on TestServer (no ports: for a service
    /// the others never call, or that a test stops and starts again).</summary>
    public static WebApplicationFactory<TEntryPoint> StartOnTestServer<TEntryPoint>(
        IEnumerable<KeyValuePair<string, string?>> settings, Action<IWebHostBuilder>? configure = null)
        where TEntryPoint : class
    {
        var factory = new WebApplicationFactory<TEntryPoint>().WithWebHostBuilder(web =>
        {
            foreach (var (key, value) in settings)
            {
                web.UseSetting(key, value);
            }
            configure?.Invoke(web);
        });
        _ = factory.Server; // starts the host: its database is migrated before the first test
        return factory;
    }

    /// <summary>The body of POST /api/pools for a pool of its own channel, as the Pools API takes it.</summary>
    public static object NewPoolRequest(int outcomes, long minStakeMinor, long maxStakeMinor, int windowSeconds = 1200, string? channelId = null) => new
    {
        channel = new { provider = "twitch", channelId = channelId ?? $"chan-{Guid.NewGuid():N}" },
        title = "Will the streamer win?",
        outcomes = Enumerable.Range(1, outcomes).Select(i => $"Outcome {i}").ToArray(),
        bettingWindowSeconds = windowSeconds,
        minStakeMinor,
        maxStakeMinor,
    };

    /// <summary>The settings every service of one test stack shares (Users also needs <see cref="TestTokens.PrivateKeySetting"/>).</summary>
    public static KeyValuePair<string, string?>[] CommonSettings(string redisConnectionString, string busPrefix) =>
    [
        new("ConnectionStrings:redis", redisConnectionString),
        TestTokens.Shared.PublicKeySetting,
        new("Messaging:RedisStreams:KeyPrefix", busPrefix),
        new("Logging:LogLevel:Default", "Warning"),
    ];

    /// <summary>
    /// A fresh database whose commits do not wait for the WAL flush: atomicity, locks and constraints are unchanged, and
    /// no test that uses it kills PostgreSQL.
    /// </summary>
    public static async Task<string> CreateFastDatabaseAsync(PostgresServer postgres, string prefix)
    {
        var connectionString = await postgres.CreateDatabaseAsync(prefix);
        var database = new NpgsqlConnectionStringBuilder(connectionString).Database;
        await using var connection = new NpgsqlConnection(connectionString + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"ALTER DATABASE \"{database}\" SET synchronous_commit = off", connection);
        await command.ExecuteNonQueryAsync();
        return connectionString;
    }

    private static readonly HashSet<int> HandedOut = [];

    /// <summary>
    /// A free loopback port for a server to bind later. It is picked below the kernel's ephemeral range, never from it:
    /// a port the OS hands out for port 0 can be taken by any outgoing connection (to PostgreSQL, Redis...) between this
    /// pick and the bind, which once failed a whole test run with "address already in use".
    /// </summary>
    public static int FreePort()
    {
        var ceiling = EphemeralRangeStart();
        var floor = Math.Max(1024, ceiling / 2);
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var port = Random.Shared.Next(floor, ceiling);
            lock (HandedOut)
            {
                if (HandedOut.Contains(port) || !IsFree(port))
                {
                    continue;
                }
                HandedOut.Add(port);
                return port;
            }
        }
        throw new InvalidOperationException($"No free loopback port between {floor} and {ceiling}.");
    }

    public static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int EphemeralRangeStart()
    {
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
            return int.Parse(range[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 32768; // Linux's default
        }
    }
}

/// <summary>One event as the bus carried it: its CloudEvents id (a republished event keeps it) and its data.</summary>
public sealed record PublishedEvent(Guid Id, JsonElement Data, string? TraceParent);

/// <summary>Reads what the Redis Streams transport published, across a topic's 16 partition streams.</summary>
public static class PublishedEvents
{
    /// <summary>The events of one type whose data matches, oldest first.</summary>
    public static async Task<List<PublishedEvent>> ReadAsync(IDatabase redis, string busPrefix, string topic, string eventType, Func<JsonElement, bool> matches)
    {
        var found = new List<(long Millis, long Sequence, PublishedEvent Event)>();
        for (var partition = 0; partition < 16; partition++)
        {
            foreach (var entry in await redis.StreamRangeAsync($"{busPrefix}:{topic}:{partition}"))
            {
                if (entry["type"] != eventType)
                {
                    continue;
                }
                using var cloudEvent = JsonDocument.Parse(entry["ce"].ToString());
                var data = cloudEvent.RootElement.GetProperty("data");
                if (matches(data))
                {
                    var id = entry.Id.ToString().Split('-');
                    found.Add((long.Parse(id[0], System.Globalization.CultureInfo.InvariantCulture), long.Parse(id[1], System.Globalization.CultureInfo.InvariantCulture),
                        new PublishedEvent(cloudEvent.RootElement.GetProperty("id").GetGuid(), data.Clone(),
                            cloudEvent.RootElement.TryGetProperty("traceparent", out var traceParent) ? traceParent.GetString() : null)));
                }
            }
        }
        return [.. found.OrderBy(f => f.Millis).ThenBy(f => f.Sequence).Select(f => f.Event)];
    }
}

/// <summary>Real time plus an offset a test can move forward: timers stay real, "now" jumps.</summary>
public sealed class AdjustableClock : TimeProvider
{
    private long _offsetTicks;

    public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow().AddTicks(Interlocked.Read(ref _offsetTicks));
}

/// <summary>TestServer answers HTTP/1.1 responses; gRPC clients insist on HTTP/2.</summary>
public sealed class Http2ResponseHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        response.Version = request.Version;
        return response;
    }
}
