using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Time.Testing;
using StreamBets.Realtime.Hubs;
using StreamBets.Testing;

namespace StreamBets.Realtime.Tests;

/// <summary>
/// A service's <c>/health</c> is public through the gateway (<c>/health/{service}</c>, 20 a second per address) and runs
/// its store checks: a flood of probes must not become a flood of checks holding the connections players wait for.
/// </summary>
public sealed class GatewayServiceHealthTests
{
    [Fact]
    public async Task Concurrent_probes_of_a_services_health_through_the_gateway_share_one_run_of_each_check()
    {
        // A store check slow as during a database slowdown.
        var check = new SlowCheck(TimeSpan.FromSeconds(1));
        await using var service = await StartRealtimeAsync(services => services.AddHealthChecks().AddCheck("slow store", check));
        await using var gateway = await GatewayHost.StartAsync(settings: new Dictionary<string, string>
        {
            ["ReverseProxy:Clusters:users:Destinations:d1:Address"] = service.Url,
        });

        // Twenty probes, each from its own address so none is refused by the rate limiter.
        var statuses = await Task.WhenAll(Enumerable.Range(0, 20).Select(async _ =>
        {
            using var client = gateway.ClientFrom(GatewayHost.AnAddress());
            using var response = await client.GetAsync("/health/users");
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }));

        Assert.All(statuses, status => Assert.Equal((HttpStatusCode.OK, "Healthy"), status));
        // Before, each probe ran every check: twenty runs at once, each holding what a store check holds.
        Assert.Equal(1, check.MostAtOnce);
        Assert.Equal(1, check.Runs);
    }

    [Fact]
    public async Task A_service_whose_clock_stands_still_in_its_tests_still_reports_a_changed_health()
    {
        // Tests freeze a service's TimeProvider (the Pools tests'): a result reused while fresh on that clock would be
        // reused for good, and a test polling /health for a change would never see it.
        var check = new SwitchedCheck();
        await using var service = await StartRealtimeAsync(services => services
            .AddSingleton<TimeProvider>(new FakeTimeProvider(DateTimeOffset.UtcNow))
            .AddHealthChecks().AddCheck("switched", check));
        using var client = new HttpClient { BaseAddress = new Uri(service.Url) };
        Assert.Equal("Healthy", await client.GetStringAsync("/health"));

        check.Status = HealthStatus.Degraded;

        Assert.True(await Eventually.HoldsAsync(async () => await client.GetStringAsync("/health") == "Degraded", TimeSpan.FromSeconds(10)),
            "/health kept answering the result from before the check's status changed.");
    }

    /// <summary>A Realtime replica on Kestrel, on prefixes of its own in the shared Redis, with what the test registers.</summary>
    private static async Task<RealtimeService> StartRealtimeAsync(Action<IServiceCollection> services)
    {
        var url = $"http://127.0.0.1:{InProcessServices.FreePort()}";
        var redis = (await TestServers.RedisAsync()).ConnectionString;
        var factory = new WebApplicationFactory<LiveHub>().WithWebHostBuilder(web =>
        {
            web.UseSetting("ConnectionStrings:redis", redis);
            web.UseSetting("Messaging:RedisStreams:KeyPrefix", $"rt-health-{Guid.NewGuid():N}");
            web.UseSetting("Realtime:KeyPrefix", $"rt-health-{Guid.NewGuid():N}");
            web.UseSetting("Auth:PublicKey", TestTokens.Shared.PublicKey);
            web.UseSetting("Logging:LogLevel:Default", "Warning");
            web.UseSetting("Kestrel:Endpoints:http:Url", url);
            web.ConfigureTestServices(services);
        });
        factory.UseKestrel();
        factory.StartServer();
        return new RealtimeService(factory, url);
    }

    private sealed class RealtimeService(WebApplicationFactory<LiveHub> factory, string url) : IAsyncDisposable
    {
        public string Url { get; } = url;

        public ValueTask DisposeAsync() => factory.DisposeAsync();
    }

    /// <summary>Takes <paramref name="takes"/> each run, and counts its runs and the most under way at once.</summary>
    private sealed class SlowCheck(TimeSpan takes) : IHealthCheck
    {
        private int _runs;
        private int _running;
        private int _mostAtOnce;

        public int Runs => Volatile.Read(ref _runs);
        public int MostAtOnce => Volatile.Read(ref _mostAtOnce);

        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _runs);
            var running = Interlocked.Increment(ref _running);
            InterlockedMax(ref _mostAtOnce, running);
            try
            {
                await Task.Delay(takes, cancellationToken);
                return HealthCheckResult.Healthy();
            }
            finally
            {
                Interlocked.Decrement(ref _running);
            }
        }

        private static void InterlockedMax(ref int location, int value)
        {
            int seen;
            while ((seen = Volatile.Read(ref location)) < value && Interlocked.CompareExchange(ref location, value, seen) != seen)
            {
            }
        }
    }

    private sealed class SwitchedCheck : IHealthCheck
    {
        public HealthStatus Status { get; set; } = HealthStatus.Healthy;

        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(new HealthCheckResult(Status));
    }
}
