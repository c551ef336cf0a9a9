using System.Net;
using System.Reflection;
using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;
using StreamBets.Gateway.RateLimiting;
using StreamBets.Testing;

namespace StreamBets.Realtime.Tests;

/// <summary>The gateway's limiter counts in memory and shares the counts through Redis, so replicas share one budget.</summary>
public sealed class GatewayRateLimitTests
{
    private static readonly RateLimitOptions Settings = new() { WindowSeconds = 60, AuthenticatedPermitsPerWindow = 50 };
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UnixEpoch.AddDays(20_000).AddSeconds(15));

    [Fact]
    public async Task Two_replicas_share_one_budget_once_they_have_synced()
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync((await TestServers.RedisAsync()).ConnectionString);
        using var replicaA = Replica(redis);
        using var replicaB = Replica(redis);
        var client = $"user:{Guid.NewGuid()}";

        Assert.All(Enumerable.Range(0, 30), _ => Assert.True(replicaA.Acquire(client, Settings.AuthenticatedPermitsPerWindow).Allowed));
        await replicaA.SyncAsync();
        Assert.True(replicaB.Acquire(client, Settings.AuthenticatedPermitsPerWindow).Allowed);
        await replicaB.SyncAsync();

        // B now knows of A's 30: 19 more make 50, the budget.
        var admitted = Enumerable.Range(0, 40).Count(_ => replicaB.Acquire(client, Settings.AuthenticatedPermitsPerWindow).Allowed);
        Assert.Equal(19, admitted);
        var refused = replicaB.Acquire(client, Settings.AuthenticatedPermitsPerWindow);
        Assert.False(refused.Allowed);
        Assert.Equal(50, refused.Limit);
        Assert.Equal(TimeSpan.FromSeconds(45), refused.RetryAfter);

        _clock.Advance(TimeSpan.FromSeconds(45));
        Assert.True(replicaB.Acquire(client, Settings.AuthenticatedPermitsPerWindow).Allowed);
    }

    [Fact]
    public async Task A_sync_whose_answer_was_lost_after_redis_counted_it_is_not_counted_twice()
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync((await TestServers.RedisAsync()).ConnectionString);
        var lossy = new LostReplies(redis);
        using var replicaA = Replica(lossy.Multiplexer);
        using var replicaB = Replica(redis);
        var client = $"user:{Guid.NewGuid()}";
        Assert.All(Enumerable.Range(0, 30), _ => Assert.True(replicaA.Acquire(client, Settings.AuthenticatedPermitsPerWindow).Allowed));

        // Redis counts A's 30, but the answer times out on the way back; A sends its counts again at the next sync.
        lossy.Losing = true;
        await replicaA.SyncAsync();
        lossy.Losing = false;
        await replicaA.SyncAsync();

        // The client made 30 requests, not 60: B still has 20 to give once it knows of them.
        Assert.True(replicaB.Acquire(client, Settings.AuthenticatedPermitsPerWindow).Allowed);
        await replicaB.SyncAsync();
        Assert.Equal(19, Enumerable.Range(0, 40).Count(_ => replicaB.Acquire(client, Settings.AuthenticatedPermitsPerWindow).Allowed));
    }

    [Fact]
    public async Task A_sync_after_redis_forgot_its_scripts_still_answers()
    {
        var connection = (await TestServers.RedisAsync()).ConnectionString;
        await using var redis = await ConnectionMultiplexer.ConnectAsync(connection);
        await using var admin = await ConnectionMultiplexer.ConnectAsync($"{connection},allowAdmin=true");
        using var replica = Replica(redis);
        var client = $"user:{Guid.NewGuid()}";
        replica.Acquire(client, Settings.AuthenticatedPermitsPerWindow);
        await replica.SyncAsync();

        // A restart, a failover or SCRIPT FLUSH: a script sent by its hash alone is answered NOSCRIPT.
        await admin.GetServers().Single().ScriptFlushAsync();
        replica.Acquire(client, Settings.AuthenticatedPermitsPerWindow);

        await replica.SyncAsync().WaitAsync(TimeSpan.FromSeconds(10));
        var window = _clock.GetUtcNow().ToUnixTimeSeconds() / Settings.WindowSeconds;
        Assert.Equal(2, (await redis.GetDatabase().HashValuesAsync($"ratelimit:{client}:{window}:by-replica")).Sum(count => (long)count));
    }

    [Fact]
    public async Task One_replica_is_exact_without_waiting_for_Redis()
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync((await TestServers.RedisAsync()).ConnectionString);
        using var replica = Replica(redis);
        var client = $"ip:{Guid.NewGuid()}";

        var admitted = Enumerable.Range(0, 35).Count(_ => replica.Acquire(client, Settings.AnonymousPermitsPerWindow).Allowed);

        Assert.Equal(Settings.AnonymousPermitsPerWindow, admitted);
        await replica.SyncAsync();
        var window = _clock.GetUtcNow().ToUnixTimeSeconds() / Settings.WindowSeconds;
        Assert.Equal(Settings.AnonymousPermitsPerWindow, (await redis.GetDatabase().HashValuesAsync($"ratelimit:{client}:{window}:by-replica")).Sum(count => (long)count));
    }

    [Fact]
    public async Task The_gateways_own_probes_are_never_limited_but_a_services_health_through_it_is()
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync((await TestServers.RedisAsync()).ConnectionString);
        using var replica = Replica(redis);
        var gateway = Gateway(replica);
        var address = AnAddress(); // a client of its own: the limiter's Redis is shared between runs
        Task<int> StatusAsync(string path) => gateway.StatusAsync(path, address);

        foreach (var probe in new[] { "/health", "/alive" })
        {
            for (var i = 0; i < 30; i++)
            {
                Assert.Equal(StatusCodes.Status200OK, await StatusAsync(probe));
            }
        }
        var throughTheGateway = new List<int>();
        for (var i = 0; i < 30; i++)
        {
            throughTheGateway.Add(await StatusAsync("/health/users"));
        }
        Assert.Equal(Settings.AnonymousPermitsPerWindow, throughTheGateway.Count(s => s == StatusCodes.Status200OK));
        Assert.All(throughTheGateway.Skip(Settings.AnonymousPermitsPerWindow), s => Assert.Equal(StatusCodes.Status429TooManyRequests, s));
    }

    [Fact]
    public async Task Anonymous_calls_a_front_end_vouches_for_count_against_the_browsers_address_not_the_front_ends()
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync((await TestServers.RedisAsync()).ConnectionString);
        using var replica = Replica(redis);
        var gateway = Gateway(replica);
        var (webServer, ana, bia) = (AnAddress(), AnAddress(), AnAddress());
        var vouched = (string browser) => new Dictionary<string, string> { [FrontEndVouching.KeyHeader] = FrontEndKey, [FrontEndVouching.ClientAddressHeader] = browser };

        // Ana retries wrong passwords on the web sign-in form until she is limited...
        var anas = new List<int>();
        for (var i = 0; i < 25; i++)
        {
            anas.Add(await gateway.StatusAsync("/api/users/login", webServer, vouched(ana.ToString())));
        }
        Assert.Equal(Settings.AnonymousPermitsPerWindow, anas.Count(s => s == StatusCodes.Status200OK));

        // ...while Bia signs in through the same web server, and a live page's token refresh (no browser at hand) goes through.
        Assert.Equal(StatusCodes.Status200OK, await gateway.StatusAsync("/api/users/login", webServer, vouched(bia.ToString())));
        Assert.Equal(StatusCodes.Status200OK, await gateway.StatusAsync("/api/users/token/refresh", webServer,
            new Dictionary<string, string> { [FrontEndVouching.KeyHeader] = FrontEndKey }));
        Assert.False(gateway.LastForwarded!.ContainsKey(FrontEndVouching.KeyHeader), "The front ends' secret went past the gateway.");

        // A forwarded address without the front ends' key counts for nothing: the caller's own address pays.
        var forger = AnAddress();
        var forged = new List<int>();
        for (var i = 0; i < 25; i++)
        {
            forged.Add(await gateway.StatusAsync("/api/users/login", forger,
                new Dictionary<string, string> { [FrontEndVouching.KeyHeader] = "guessed", [FrontEndVouching.ClientAddressHeader] = AnAddress().ToString() }));
        }
        Assert.Equal(Settings.AnonymousPermitsPerWindow, forged.Count(s => s == StatusCodes.Status200OK));
    }

    [Theory]
    [InlineData("/api/users/login")]
    [InlineData("/API/Users/Login/")]
    [InlineData("/api/users/register")]
    [InlineData("/Api/Users/Register/")]
    public async Task A_valid_token_does_not_lift_signing_in_or_registering_off_the_networks_budget(string path)
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync((await TestServers.RedisAsync()).ConnectionString);
        using var replica = Replica(redis);
        var gateway = Gateway(replica);
        var (guesser, throwawayAccount) = (AnAddress(), ASignedInUser());

        // A throwaway account's token, sent along with every guess, would otherwise bring a user's budget of its own.
        var statuses = new List<int>();
        for (var i = 0; i <= Settings.AnonymousPermitsPerWindow; i++)
        {
            statuses.Add(await gateway.StatusAsync(path, guesser, user: throwawayAccount));
        }

        Assert.All(statuses.Take(Settings.AnonymousPermitsPerWindow), s => Assert.Equal(StatusCodes.Status200OK, s));
        Assert.Equal(StatusCodes.Status429TooManyRequests, statuses[^1]);
        Assert.Equal("https://streambets.dev/problems/rate-limited", gateway.LastProblemType);
        // Elsewhere the token is the client, whatever its network has spent.
        Assert.Equal(StatusCodes.Status200OK, await gateway.StatusAsync("/api/users/me", guesser, user: throwawayAccount));
    }

    [Fact]
    public async Task Anonymous_ipv6_clients_are_counted_by_their_64_so_rotating_addresses_in_it_gains_nothing()
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync((await TestServers.RedisAsync()).ConnectionString);
        using var replica = Replica(redis);
        var gateway = Gateway(replica);
        var (direct, vouchedFor, webServer) = (AnIpv6Network(), AnIpv6Network(), AnAddress());

        // One host is given a whole /64, so a fresh address per request costs it nothing: each is one more of its requests.
        var rotating = new List<int>();
        for (var i = 0; i <= Settings.AnonymousPermitsPerWindow; i++)
        {
            rotating.Add(await gateway.StatusAsync("/api/users/login", AnAddressIn(direct)));
        }
        // Likewise for the browser's address a front end vouches for.
        var vouched = new List<int>();
        for (var i = 0; i <= Settings.AnonymousPermitsPerWindow; i++)
        {
            vouched.Add(await gateway.StatusAsync("/api/users/login", webServer, new Dictionary<string, string>
            {
                [FrontEndVouching.KeyHeader] = FrontEndKey,
                [FrontEndVouching.ClientAddressHeader] = AnAddressIn(vouchedFor).ToString(),
            }));
        }

        foreach (var statuses in new[] { rotating, vouched })
        {
            Assert.All(statuses.Take(Settings.AnonymousPermitsPerWindow), s => Assert.Equal(StatusCodes.Status200OK, s));
            Assert.Equal(StatusCodes.Status429TooManyRequests, statuses[^1]);
        }
        // Another /64 is another client.
        Assert.Equal(StatusCodes.Status200OK, await gateway.StatusAsync("/api/users/login", AnAddressIn(AnIpv6Network())));
    }

    [Fact]
    public async Task Anonymous_ipv6_clients_also_share_their_48s_budget_so_its_65536_64s_are_not_as_many_budgets()
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync((await TestServers.RedisAsync()).ConnectionString);
        using var replica = Replica(redis);
        var gateway = Gateway(replica);
        var site = AnIpv6Network()[..6];
        var siteBudget = Settings.AnonymousSitePermitsPerWindow;

        // A /48's holder takes a fresh /64 for every few requests, each well within that /64's own budget, directly and
        // through a front end: the site's budget runs out all the same.
        var statuses = new List<int>();
        for (var subnet = 0; statuses.Count < siteBudget + 20; subnet++)
        {
            var network = (byte[])[.. site, (byte)(subnet >> 8), (byte)subnet];
            for (var i = 0; i < Settings.AnonymousPermitsPerWindow / 2; i++)
            {
                statuses.Add(subnet % 2 == 0
                    ? await gateway.StatusAsync("/api/users/login", AnAddressIn(network))
                    : await gateway.StatusAsync("/api/users/login", AnAddress(), new Dictionary<string, string>
                    {
                        [FrontEndVouching.KeyHeader] = FrontEndKey,
                        [FrontEndVouching.ClientAddressHeader] = AnAddressIn(network).ToString(),
                    }));
            }
        }

        Assert.All(statuses.Take(siteBudget), s => Assert.Equal(StatusCodes.Status200OK, s));
        Assert.All(statuses.Skip(siteBudget), s => Assert.Equal(StatusCodes.Status429TooManyRequests, s));
        // A /64 of the site that has made no request yet is refused too; another /48 is another site, and served.
        Assert.Equal(StatusCodes.Status429TooManyRequests, await gateway.StatusAsync("/api/users/login", AnAddressIn([.. site, 0xff, 0xff])));
        Assert.Equal(StatusCodes.Status200OK, await gateway.StatusAsync("/api/users/login", AnAddressIn(AnIpv6Network())));
        // The site's count is shared with the other replicas like a client's.
        await replica.SyncAsync();
        var window = _clock.GetUtcNow().ToUnixTimeSeconds() / Settings.WindowSeconds;
        var siteKey = $"ratelimit:ip:{new IPAddress([.. site, .. new byte[10]])}/48:{window}:by-replica";
        Assert.Equal(siteBudget, (await redis.GetDatabase().HashValuesAsync(siteKey)).Sum(count => (long)count));
    }

    [Fact]
    public async Task With_no_48_budget_each_64_of_a_carriers_48_is_served_up_to_its_own_budget()
    {
        var noSiteBudget = new RateLimitOptions { WindowSeconds = Settings.WindowSeconds, AnonymousSitePermitsPerWindow = 0 };
        await using var redis = await ConnectionMultiplexer.ConnectAsync((await TestServers.RedisAsync()).ConnectionString);
        using var replica = Replica(redis, noSiteBudget);
        var gateway = Gateway(replica, noSiteBudget);
        var site = AnIpv6Network()[..6];

        // A carrier's /48: far more subscribers, a /64 each, than the default /48 budget would serve, each signing in up
        // to its own budget. 0 turns the /48's count off: each is limited by its /64 alone, and none is refused for the others.
        const int subscribers = 80;
        for (var subnet = 0; subnet < subscribers; subnet++)
        {
            var network = (byte[])[.. site, (byte)(subnet >> 8), (byte)subnet];
            var statuses = new List<int>();
            for (var i = 0; i <= noSiteBudget.AnonymousPermitsPerWindow; i++)
            {
                statuses.Add(await gateway.StatusAsync("/api/users/login", AnAddressIn(network)));
            }
            Assert.All(statuses.Take(noSiteBudget.AnonymousPermitsPerWindow), s => Assert.Equal(StatusCodes.Status200OK, s));
            Assert.Equal(StatusCodes.Status429TooManyRequests, statuses[^1]);
        }
        Assert.True(subscribers * noSiteBudget.AnonymousPermitsPerWindow > new RateLimitOptions().AnonymousSitePermitsPerWindow);
        // Nor is anything counted for the /48.
        await replica.SyncAsync();
        var window = _clock.GetUtcNow().ToUnixTimeSeconds() / Settings.WindowSeconds;
        Assert.False(await redis.GetDatabase().KeyExistsAsync($"ratelimit:ip:{new IPAddress([.. site, .. new byte[10]])}/48:{window}:by-replica"));
    }

    [Fact]
    public async Task A_negative_48_budget_is_refused_when_the_gateway_starts()
    {
        var refused = await Assert.ThrowsAsync<OptionsValidationException>(() => GatewayHost.StartAsync(
            services: services => services.Configure<RateLimitOptions>(o => o.AnonymousSitePermitsPerWindow = -1)));
        Assert.Contains("AnonymousSitePermitsPerWindow", refused.Message);
    }

    [Fact]
    public async Task The_client_network_the_services_are_told_is_the_one_the_gateway_counts_never_what_the_client_claims()
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync((await TestServers.RedisAsync()).ConnectionString);
        using var replica = Replica(redis);
        var gateway = Gateway(replica);
        var (guesser, webServer, browserNetwork) = (AnAddress(), AnAddress(), AnIpv6Network());
        string Relayed() => Assert.Single(gateway.LastForwarded![ClientNetworks.Header].ToArray())!;

        // A guesser claiming another network, to spread wrong passwords over sign-in sources that are not his.
        await gateway.StatusAsync("/api/users/login", guesser, new Dictionary<string, string> { [ClientNetworks.Header] = "ip:203.0.113.7" });
        Assert.Equal($"ip:{guesser}", Relayed());

        // Through a front end that vouches for the browser: the browser's /48, whatever the front end's caller wrote.
        await gateway.StatusAsync("/api/users/login", webServer, new Dictionary<string, string>
        {
            [FrontEndVouching.KeyHeader] = FrontEndKey,
            [FrontEndVouching.ClientAddressHeader] = AnAddressIn(browserNetwork).ToString(),
            [ClientNetworks.Header] = "unknown",
        });
        Assert.Equal($"ip:{new IPAddress([.. browserNetwork[..6], .. new byte[10]])}/48", Relayed());
        // Nor is the vouched address itself passed on: a client can write that header too.
        Assert.False(gateway.LastForwarded!.ContainsKey(FrontEndVouching.ClientAddressHeader));
        await gateway.StatusAsync("/api/users/login", guesser, new Dictionary<string, string> { [FrontEndVouching.ClientAddressHeader] = "203.0.113.7" });
        Assert.False(gateway.LastForwarded!.ContainsKey(FrontEndVouching.ClientAddressHeader));
    }

    [Fact]
    public async Task The_services_are_told_an_ipv6_clients_48_so_a_homes_many_64s_are_one_sign_in_source()
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync((await TestServers.RedisAsync()).ConnectionString);
        using var replica = Replica(redis);
        var gateway = Gateway(replica);
        var site = AnIpv6Network()[..6];
        var relayed = new HashSet<string>();

        // A home's /56 holds 256 /64s: ten of them, reached directly and through a front end, are still one site.
        for (byte subnet = 1; subnet <= 10; subnet++)
        {
            var network = (byte[])[.. site, 0, subnet];
            Assert.Equal(StatusCodes.Status200OK, await gateway.StatusAsync("/api/users/login", AnAddressIn(network)));
            relayed.Add(Assert.Single(gateway.LastForwarded![ClientNetworks.Header].ToArray())!);
            Assert.Equal(StatusCodes.Status200OK, await gateway.StatusAsync("/api/users/login", AnAddress(), new Dictionary<string, string>
            {
                [FrontEndVouching.KeyHeader] = FrontEndKey,
                [FrontEndVouching.ClientAddressHeader] = AnAddressIn(network).ToString(),
            }));
            relayed.Add(Assert.Single(gateway.LastForwarded![ClientNetworks.Header].ToArray())!);
        }

        Assert.Equal($"ip:{new IPAddress([.. site, .. new byte[10]])}/48", Assert.Single(relayed));
    }

    [Fact]
    public async Task An_ipv4_client_seen_as_ipv4_mapped_ipv6_is_the_same_client_as_through_a_front_end()
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync((await TestServers.RedisAsync()).ConnectionString);
        using var replica = Replica(redis);
        var gateway = Gateway(replica);
        var (client, webServer) = (AnAddress(), AnAddress());
        var statuses = new List<int>();
        var relayed = new HashSet<string>();

        // A dual-stack socket reports an IPv4 client as ::ffff:a.b.c.d; the front end names it a.b.c.d.
        for (var i = 0; i <= Settings.AnonymousPermitsPerWindow; i++)
        {
            statuses.Add(i % 2 == 0
                ? await gateway.StatusAsync("/api/users/login", client.MapToIPv6())
                : await gateway.StatusAsync("/api/users/login", webServer.MapToIPv6(), new Dictionary<string, string>
                {
                    [FrontEndVouching.KeyHeader] = FrontEndKey,
                    [FrontEndVouching.ClientAddressHeader] = client.ToString(),
                }));
            if (statuses[^1] == StatusCodes.Status200OK)
            {
                relayed.Add(Assert.Single(gateway.LastForwarded![ClientNetworks.Header].ToArray())!);
            }
        }

        Assert.Equal($"ip:{client}", Assert.Single(relayed));
        // One budget for both ways in: the limiter's key is the same too.
        Assert.All(statuses.Take(Settings.AnonymousPermitsPerWindow), s => Assert.Equal(StatusCodes.Status200OK, s));
        Assert.Equal(StatusCodes.Status429TooManyRequests, statuses[^1]);
    }

    private const string FrontEndKey = "front-end-key-for-tests";

    private static IPAddress AnAddress() => new(Random.Shared.NextInt64(1, uint.MaxValue));

    /// <summary>A random /64 of the documentation prefix 2001:db8::/32: its first 8 bytes.</summary>
    private static byte[] AnIpv6Network()
    {
        var network = new byte[8];
        Random.Shared.NextBytes(network);
        (network[0], network[1], network[2], network[3]) = (0x20, 0x01, 0x0d, 0xb8);
        return network;
    }

    private static IPAddress AnAddressIn(byte[] network)
    {
        var address = new byte[16];
        network.CopyTo(address, 0);
        Random.Shared.NextBytes(address.AsSpan(8));
        return new IPAddress(address);
    }

    /// <summary>Who the gateway's authentication makes of a request with a valid token.</summary>
    private static ClaimsPrincipal ASignedInUser() => new(new ClaimsIdentity([new Claim("sub", Guid.NewGuid().ToString())], "Bearer"));

    private static TestGateway Gateway(RedisRateLimiter replica, RateLimitOptions? settings = null)
    {
        var services = new ServiceCollection().AddLogging().AddProblemDetails().BuildServiceProvider();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection([new(FrontEndVouching.KeySetting, FrontEndKey)]).Build();
        return new TestGateway(services, new RateLimitingMiddleware(
            _ => Task.CompletedTask, replica, services.GetRequiredService<IProblemDetailsService>(), Options.Create(settings ?? Settings), configuration));
    }

    /// <summary>The rate-limiting step of the gateway alone, answering 200 for whatever it lets through.</summary>
    private sealed record TestGateway(IServiceProvider Services, RateLimitingMiddleware Middleware)
    {
        /// <summary>The headers of the last request let through, as the proxy would forward them.</summary>
        public IHeaderDictionary? LastForwarded { get; private set; }

        /// <summary>The problem type of the last request refused.</summary>
        public string? LastProblemType { get; private set; }

        public async Task<int> StatusAsync(string path, IPAddress from, Dictionary<string, string>? headers = null, ClaimsPrincipal? user = null)
        {
            var context = new DefaultHttpContext { RequestServices = Services };
            if (user is not null)
            {
                context.User = user;
            }
            context.Request.Path = path;
            context.Connection.RemoteIpAddress = from;
            foreach (var (name, value) in headers ?? [])
            {
                context.Request.Headers[name] = value;
            }
            context.Response.Body = new MemoryStream();
            await Middleware.InvokeAsync(context);
            if (context.Response.StatusCode == StatusCodes.Status200OK)
            {
                LastForwarded = context.Request.Headers;
            }
            else
            {
                context.Response.Body.Position = 0;
                LastProblemType = JsonDocument.Parse(context.Response.Body).RootElement.GetProperty("type").GetString();
            }
            return context.Response.StatusCode;
        }
    }

    /// <summary>
    /// Redis behind a connection whose answers can be lost: while <see cref="Losing"/>, every command runs on Redis and
    /// its caller is told it timed out, as when the reply comes too late.
    /// </summary>
    private sealed class LostReplies
    {
        public LostReplies(IConnectionMultiplexer redis) => Multiplexer = LosingProxy.Wrap(redis, () => Losing);

        public IConnectionMultiplexer Multiplexer { get; }
        public bool Losing { get; set; }
    }

    /// <summary>Forwards every call (and wraps the databases and batches it hands out); while losing, a command's task
    /// fails with a timeout once Redis has answered it.</summary>
    private class LosingProxy : DispatchProxy
    {
        private static readonly MethodInfo Lose = typeof(LosingProxy).GetMethod(nameof(LoseAsync), BindingFlags.NonPublic | BindingFlags.Static)!;
        private object _target = null!;
        private Func<bool> _losing = null!;

        public static T Wrap<T>(T target, Func<bool> losing) where T : class
        {
            var proxy = Create<T, LosingProxy>();
            var forwarding = (LosingProxy)(object)proxy;
            (forwarding._target, forwarding._losing) = (target, losing);
            return proxy;
        }

        // By the declared type: Redis's batch is a database too.
        protected override object? Invoke(MethodInfo? method, object?[]? args) => method!.Invoke(_target, args) switch
        {
            IDatabase database when method.ReturnType == typeof(IDatabase) => Wrap(database, _losing),
            IBatch batch when method.ReturnType == typeof(IBatch) => Wrap(batch, _losing),
            Task task when _losing() && method.ReturnType.IsGenericType => Lose.MakeGenericMethod(method.ReturnType.GetGenericArguments()[0]).Invoke(null, [task]),
            var result => result,
        };

        private static async Task<T> LoseAsync<T>(Task<T> reply)
        {
            await reply; // Redis ran it
            throw new TimeoutException("The reply came too late.");
        }
    }

    private RedisRateLimiter Replica(IConnectionMultiplexer redis, RateLimitOptions? settings = null) =>
        new(redis, Options.Create(settings ?? Settings), _clock, NullLogger<RedisRateLimiter>.Instance);
}
