using System.Diagnostics;
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
        // a reuse after the outage (and a little for the last ping before it to end).
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
            Assert.True(startedAt < ResultReusedFor + TimeSpan.FromMilliseconds(500),
                $"A probe {startedAt.TotalMilliseconds:F0} ms after Redis stopped was still told it is healthy.");
            await Task.Delay(20);
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
