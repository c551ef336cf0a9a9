using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace StreamBets.Messaging.Tests;

/// <summary>ServiceDefaults' setting for every Redis client the services register.</summary>
public sealed class RedisClientDefaultsTests
{
    [Fact]
    public void A_services_redis_replies_complete_on_the_thread_pool_rather_than_on_dedicated_threads()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration["ConnectionStrings:redis"] = "127.0.0.1:6379,abortConnect=false";
        builder.AddServiceDefaults();
        builder.AddRedisClient("redis");
        using var host = builder.Build();

        var options = host.Services.GetRequiredService<IOptionsMonitor<ConfigurationOptions>>().Get(Options.DefaultName);

        Assert.Same(SocketManager.ThreadPool, options.SocketManager);
        Assert.Equal("127.0.0.1:6379", Assert.Single(options.EndPoints).ToString());
    }
}
