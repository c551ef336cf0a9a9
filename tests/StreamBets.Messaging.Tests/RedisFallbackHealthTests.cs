using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Hosting;

namespace StreamBets.Messaging.Tests;

/// <summary>
/// Readiness of a service whose Redis is a cache it falls back from (Gateway, Users, Bet Engine, Pools): a Redis outage
/// must not take every replica out of rotation at once.
/// </summary>
public sealed class RedisFallbackHealthTests
{
    // Nothing listens on port 1: every command fails, as during a Redis outage.
    private const string RedisDown = "127.0.0.1:1,abortConnect=false,connectTimeout=200,connectRetry=0,asyncTimeout=1000";

    [Fact]
    public async Task A_redis_the_service_falls_back_from_leaves_it_ready_but_degraded()
    {
        await using var app = await StartAsync(builder =>
        {
            builder.AddRedisClient("redis", settings => settings.DisableHealthChecks = true);
            builder.AddRedisFallbackHealthCheck();
        });

        using var response = await app.GetTestClient().GetAsync(Extensions.HealthEndpointPath);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Degraded", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_redis_the_service_cannot_work_without_makes_it_not_ready()
    {
        await using var app = await StartAsync(builder => builder.AddRedisClient("redis")); // Realtime's backplane, the front ends' sessions

        using var response = await app.GetTestClient().GetAsync(Extensions.HealthEndpointPath);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
    }

    private static async Task<WebApplication> StartAsync(Action<IHostApplicationBuilder> addRedis)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production });
        builder.WebHost.UseTestServer();
        builder.Configuration["ConnectionStrings:redis"] = RedisDown;
        builder.AddServiceDefaults();
        addRedis(builder);
        var app = builder.Build();
        app.MapDefaultEndpoints();
        await app.StartAsync();
        return app;
    }
}
