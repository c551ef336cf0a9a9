using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Hosting;
using StreamBets.Gateway.RateLimiting;
using StreamBets.Realtime.Hubs;
using StreamBets.Testing;

namespace StreamBets.Realtime.Tests;

/// <summary>
/// Two replicas of the Realtime service on real Kestrel ports sharing the test Redis (one consumer group on the bus,
/// one SignalR backplane), the gateway in front of the first, and a publisher on the real event bus. Once per test run;
/// its own key prefixes keep it apart from anything else in that Redis.
/// </summary>
public sealed class RealtimeStack : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _hosts = [];

    public string RedisConnectionString { get; private set; } = "";
    public string BusPrefix { get; } = $"rt-bus-{Guid.NewGuid():N}";
    public string KeyPrefix { get; } = $"rt-{Guid.NewGuid():N}";

    /// <summary>The two replicas' base addresses.</summary>
    public string HostA { get; private set; } = "";
    public string HostB { get; private set; } = "";
    public string Gateway { get; private set; } = "";
    public IServiceProvider ServicesA { get; private set; } = null!;
    public IServiceProvider ServicesB { get; private set; } = null!;
    public EventPublisher Bus { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        RedisConnectionString = (await TestServers.RedisAsync()).ConnectionString;
        (HostA, ServicesA) = StartRealtime();
        (HostB, ServicesB) = StartRealtime();
        Gateway = StartGateway(HostA);
        Bus = await EventPublisher.StartAsync(RedisConnectionString, BusPrefix);
    }

    public async Task DisposeAsync()
    {
        await Bus.DisposeAsync();
        foreach (var host in _hosts)
        {
            await host.DisposeAsync();
        }
    }

    /// <param name="sessionId">The login session (<c>sid</c> claim), as Users' tokens carry it; none when null.</param>
    public static string Token(Guid userId, string role = AuthenticationDefaults.Roles.Player, string displayName = "Tester", Guid? sessionId = null) =>
        TestTokens.Shared.Token(userId, role, displayName, sessionId);

    /// <summary>
    /// A connection to replica A (or B), anonymous or with the token in the access_token query, as browsers send it.
    /// Signed out, each test viewer is its own client network (as the gateway would relay it) unless
    /// <paramref name="clientNetwork"/> names one: the hub's allowances are per network, and the tests' viewers all
    /// come from 127.0.0.1.
    /// </summary>
    public Task<LiveClient> ConnectAsync(string? token = null, bool toHostB = false, string? clientNetwork = null) =>
        LiveClient.ConnectAsync(toHostB ? HostB : HostA, token, clientNetwork ?? NewClientNetwork());

    public static string NewClientNetwork() => $"ip:test-{Guid.NewGuid():N}";

    public Task<LiveClient> ConnectAsync(Guid userId, string role = AuthenticationDefaults.Roles.Player, bool toHostB = false) =>
        ConnectAsync(Token(userId, role, $"user-{userId.ToString()[..4]}"), toHostB);

    /// <summary>
    /// One more replica, for a test that stops it or cuts it off: on a bus prefix of its own (left in
    /// <paramref name="settings"/>), so it takes none of the other tests' events, with <paramref name="settings"/> on top
    /// of the stack's.
    /// </summary>
    public (IAsyncDisposable Host, IServiceProvider Services, string Url) StartSpareReplica(Dictionary<string, string> settings)
    {
        settings["Messaging:RedisStreams:KeyPrefix"] = $"rt-spare-{Guid.NewGuid():N}";
        settings["Realtime:KeyPrefix"] = KeyPrefix;
        var (url, services, host) = StartOnKestrel<LiveHub>(settings);
        return (host, services, url);
    }

    private (string Url, IServiceProvider Services) StartRealtime()
    {
        var (url, services, _) = StartOnKestrel<LiveHub>(new()
        {
            ["Messaging:RedisStreams:KeyPrefix"] = BusPrefix,
            ["Realtime:KeyPrefix"] = KeyPrefix,
        });
        return (url, services);
    }

    private string StartGateway(string realtime) => StartOnKestrel<RateLimitOptions>(new()
    {
        ["ReverseProxy:Clusters:realtime:Destinations:d1:Address"] = realtime,
    }).Url;

    /// <summary>Starts the service whose assembly holds <typeparamref name="TEntryPoint"/> on a free port, with the stack's Redis and token key.</summary>
    private (string Url, IServiceProvider Services, IAsyncDisposable Host) StartOnKestrel<TEntryPoint>(Dictionary<string, string> settings) where TEntryPoint : class
    {
        var url = $"http://127.0.0.1:{InProcessServices.FreePort()}";
        var factory = new WebApplicationFactory<TEntryPoint>().WithWebHostBuilder(web =>
        {
            settings.TryAdd("ConnectionStrings:redis", RedisConnectionString); // a spare replica may name its connections
            settings["Auth:PublicKey"] = TestTokens.Shared.PublicKey;
            settings["Logging:LogLevel:Default"] = "Warning";
            settings["Kestrel:Endpoints:http:Url"] = url;
            foreach (var (key, value) in settings)
            {
                web.UseSetting(key, value);
            }
        });
        factory.UseKestrel();
        factory.StartServer();
        _hosts.Add(factory);
        return (url, factory.Services, factory);
    }
}

[CollectionDefinition(Name)]
public sealed class StackCollection : ICollectionFixture<RealtimeStack>
{
    public const string Name = "realtime stack";
}
