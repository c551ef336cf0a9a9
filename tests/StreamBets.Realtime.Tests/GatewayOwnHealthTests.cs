using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;
using StreamBets.Testing;

namespace StreamBets.Realtime.Tests;

/// <summary>
/// The gateway's own <c>/health</c> is public and never rate limited (an orchestrator's probes must not be refused), and
/// it checks Redis: a flood of probes must not become a flood of Redis pings.
/// </summary>
public sealed class GatewayOwnHealthTests
{
    private static readonly TimeSpan ResultReusedFor = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task A_flood_of_health_probes_pings_redis_about_once_a_second_and_an_outage_still_shows_after_one()
    {
        // A Redis of the test's own: its pings are the gateway's alone, and the test stops it.
        await using var redis = await TestServers.StartAsync(() => new RedisServer());
        await using var gateway = await GatewayHost.StartAsync(redis.ConnectionString);
        using var client = gateway.ClientFrom(GatewayHost.AnAddress());
        Assert.Equal("Healthy", await client.GetStringAsync("/health"));
        long pingsBefore;
        await using (var admin = await ConnectionMultiplexer.ConnectAsync($"{redis.ConnectionString},allowAdmin=true"))
        {
            pingsBefore = await PingsAsync(admin);
            var flood = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, 20).Select(async _ =>
            {
                for (var i = 0; i < 25; i++)
                {
                    Assert.Equal("Healthy", await client.GetStringAsync("/health"));
                }
            }));
            flood.Stop();

            // 500 probes: one ping for each second they took, and one for the second they began in.
            var pings = await PingsAsync(admin) - pingsBefore;
            Assert.InRange(pings, 0, (long)(flood.Elapsed / ResultReusedFor) + 1);
        }

        // Redis goes down: a probe may still be told the result of a ping from before, but none that starts more than
        // a reuse after the outage (and a little for the last ping before it to end, on a loaded box).
        await redis.StopAsync();
        var down = Stopwatch.StartNew();
        while (true)
        {
            var startedAt = down.Elapsed;
            var status = await client.GetStringAsync("/health");
            if (status != "Healthy")
            {
                // A Redis outage is Degraded, not Unhealthy, by design: the gateway limits on its own counts without it
                // (RedisFallbackHealth), and readiness must not take every replica out of rotation at once.
                Assert.Equal("Degraded", status);
                break;
            }
            Assert.True(startedAt < ResultReusedFor + TimeSpan.FromMilliseconds(1500),
                $"A probe {startedAt.TotalMilliseconds:F0} ms after Redis stopped was still told it is healthy.");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task A_check_still_hung_after_its_timeout_is_run_again_so_a_recovered_dependency_shows_healthy()
    {
        // A check that ignores cancellation and hangs on its first call (a dependency that swallowed the request), then
        // answers: the dependency is back.
        var check = new HangsOnItsFirstCall();
        var timeout = TimeSpan.FromSeconds(1);
        await using var gateway = await GatewayHost.StartAsync(services: services => services.AddHealthChecks()
            .Add(new HealthCheckRegistration("hangs-once", _ => check, HealthStatus.Unhealthy, tags: null, timeout)));
        using var client = gateway.ClientFrom(GatewayHost.AnAddress());

        var sinceFirst = Stopwatch.StartNew();
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "Unhealthy"), await ProbeAsync(client));

        // Past the timeout the hung run is no one's answer any more: the next probe runs the check again.
        var rest = timeout + TimeSpan.FromMilliseconds(100) - sinceFirst.Elapsed;
        if (rest > TimeSpan.Zero)
        {
            await Task.Delay(rest);
        }
        Assert.Equal((HttpStatusCode.OK, "Healthy"), await ProbeAsync(client));
        Assert.Equal(2, check.Calls);
    }

    [Fact]
    public async Task A_check_hung_on_every_call_is_not_started_again_while_the_run_given_up_on_has_not_ended()
    {
        // A check that ignores cancellation and hangs on every call (a dependency that swallows every request): each run
        // given up on would stay, with its scope, for good; one more every timeout, as long as probes come.
        var check = new HangsOnEveryCall();
        var timeout = TimeSpan.FromMilliseconds(300);
        await using var gateway = await GatewayHost.StartAsync(services: services => services.AddHealthChecks()
            .Add(new HealthCheckRegistration("hangs", _ => check, HealthStatus.Unhealthy, tags: null, timeout)));
        using var client = gateway.ClientFrom(GatewayHost.AnAddress());
        try
        {
            // Six timeouts of probes: the first run, and the one replacing it after a timeout; then no more.
            var probing = Stopwatch.StartNew();
            while (probing.Elapsed < 6 * timeout)
            {
                Assert.Equal((HttpStatusCode.ServiceUnavailable, "Unhealthy"), await ProbeAsync(client));
                await Task.Delay(20);
            }
            Assert.InRange(check.Calls, 1, 2);

            // Answered at once, and saying why, rather than waiting out a timeout on a run that is no one's answer.
            var health = gateway.Services.GetRequiredService<HealthCheckService>();
            var entry = (await health.CheckHealthAsync(registration => registration.Name == "hangs")).Entries["hangs"];
            Assert.Equal(HealthStatus.Unhealthy, entry.Status);
            Assert.Contains("previous run has not ended after its timeout", entry.Description);
            Assert.InRange(check.Calls, 1, 2);

            // The first run ends at last: the next probe gives up on the second and starts a third.
            check.EndCall(1);
            Assert.True(await Eventually.HoldsAsync(async () =>
            {
                await ProbeAsync(client);
                return check.Calls == 3;
            }, TimeSpan.FromSeconds(10)), $"No run started once the one given up on had ended ({check.Calls} calls).");
        }
        finally
        {
            check.EndAll(); // not hung tasks left behind in the test run
        }
    }

    [Fact]
    public async Task A_run_outliving_the_probe_that_started_it_keeps_its_scoped_services()
    {
        // The check's first call outlasts its timeout, so the probe that started it gives up; the run goes on for
        // other probes, and the scoped service it was given must still be there when it ends.
        var check = new OutlivesItsFirstProbe(TimeSpan.FromSeconds(1));
        // The health sharing's clock stands still (the probe's own timeout is the health service's, on real time): the run
        // never outlives its lifetime in the sharing's eyes, so the next probe, if it comes between the check's end and the
        // run's, waits for the run to end rather than starting a second one, and gets its result as it would after.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var gateway = await GatewayHost.StartAsync(services: services => services.AddKeyedSingleton<TimeProvider>(ReusedHealthResults.ClockKey, clock)
            .AddScoped<ScopedDependency>().AddHealthChecks()
            .Add(new HealthCheckRegistration("scoped", provider => check.With(provider.GetRequiredService<ScopedDependency>()),
                HealthStatus.Unhealthy, tags: null, TimeSpan.FromMilliseconds(500))));
        using var client = gateway.ClientFrom(GatewayHost.AnAddress());

        Assert.Equal((HttpStatusCode.ServiceUnavailable, "Unhealthy"), await ProbeAsync(client));

        Assert.False(await check.FoundItsDependencyDisposed, "The run's scoped service was disposed with the probe that started it.");
        // The run's result, reused by the next probe.
        Assert.Equal((HttpStatusCode.OK, "Healthy"), await ProbeAsync(client));
        Assert.Equal(1, check.Calls);
    }

    [Fact]
    public async Task Health_options_built_again_leave_each_check_shared_once_not_wrapped_again()
    {
        await using var gateway = await GatewayHost.StartAsync(services: services => services.AddHealthChecks().AddCheck("extra", () => HealthCheckResult.Healthy()));
        using var client = gateway.ClientFrom(GatewayHost.AnAddress());
        Assert.Equal((HttpStatusCode.OK, "Healthy"), await ProbeAsync(client));
        var registration = gateway.Services.GetRequiredService<IOptions<HealthCheckServiceOptions>>().Value.Registrations.Single(r => r.Name == "extra");
        var shared = registration.Factory;

        // A monitor or a snapshot builds the options again, around the same registrations.
        var factory = gateway.Services.GetRequiredService<IOptionsFactory<HealthCheckServiceOptions>>();
        for (var i = 0; i < 3; i++)
        {
            Assert.Same(registration, factory.Create(Options.DefaultName).Registrations.Single(r => r.Name == "extra"));
        }

        Assert.Same(shared, registration.Factory);
        Assert.Equal((HttpStatusCode.OK, "Healthy"), await ProbeAsync(client));
    }

    private static async Task<(HttpStatusCode, string)> ProbeAsync(HttpClient client)
    {
        using var response = await client.GetAsync("/health");
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private sealed class HangsOnItsFirstCall : IHealthCheck
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Interlocked.Increment(ref _calls) == 1
                ? new TaskCompletionSource<HealthCheckResult>().Task // never ends, whatever the token says
                : Task.FromResult(HealthCheckResult.Healthy());
    }

    /// <summary>Every call hangs, whatever its token says, until the test ends it.</summary>
    private sealed class HangsOnEveryCall : IHealthCheck
    {
        private readonly List<TaskCompletionSource<HealthCheckResult>> _calls = [];

        public int Calls
        {
            get
            {
                lock (_calls)
                {
                    return _calls.Count;
                }
            }
        }

        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var call = new TaskCompletionSource<HealthCheckResult>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_calls)
            {
                _calls.Add(call);
            }
            return call.Task;
        }

        /// <summary>Ends the <paramref name="number"/>th call (from 1), still unhealthy.</summary>
        public void EndCall(int number)
        {
            lock (_calls)
            {
                _calls[number - 1].TrySetResult(HealthCheckResult.Unhealthy("Ended at last."));
            }
        }

        public void EndAll()
        {
            lock (_calls)
            {
                _calls.ForEach(call => call.TrySetResult(HealthCheckResult.Unhealthy("Ended at last.")));
            }
        }
    }

    private sealed class ScopedDependency : IDisposable
    {
        public bool Disposed { get; private set; }

        public void Dispose() => Disposed = true;
    }

    /// <summary>Its first call ends after <paramref name="firstCallTakes"/>, ignoring cancellation, and tells whether its scoped dependency was disposed by then.</summary>
    private sealed class OutlivesItsFirstProbe(TimeSpan firstCallTakes)
    {
        private readonly TaskCompletionSource<bool> _foundDisposed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TimeSpan _firstCallTakes = firstCallTakes;
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public Task<bool> FoundItsDependencyDisposed => _foundDisposed.Task;

        public IHealthCheck With(ScopedDependency dependency) => new Check(this, dependency);

        private sealed class Check(OutlivesItsFirstProbe owner, ScopedDependency dependency) : IHealthCheck
        {
            public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
            {
                if (Interlocked.Increment(ref owner._calls) == 1)
                {
                    await Task.Delay(owner._firstCallTakes, CancellationToken.None);
                    owner._foundDisposed.SetResult(dependency.Disposed);
                }
                return dependency.Disposed ? HealthCheckResult.Unhealthy("Its scoped service was disposed under it.") : HealthCheckResult.Healthy();
            }
        }
    }

    private static async Task<long> PingsAsync(IConnectionMultiplexer admin)
    {
        var stats = await admin.GetServers().Single().InfoAsync("commandstats");
        var ping = stats.SelectMany(section => section).SingleOrDefault(stat => stat.Key == "cmdstat_ping");
        // "calls=12,usec=34,...": absent before the first ping.
        return ping.Value is null ? 0 : long.Parse(ping.Value.Split(',')[0]["calls=".Length..], System.Globalization.CultureInfo.InvariantCulture);
    }
}
