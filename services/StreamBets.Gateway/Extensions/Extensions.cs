using StreamBets.Gateway.RateLimiting;

namespace StreamBets.Gateway.Extensions;

internal static class Extensions
{
    /// <summary>Everything the gateway registers: JWT validation, Redis rate limiting and the YARP routes.</summary>
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddDefaultAuthentication();
        builder.AddRedisClient("redis");
        builder.Services.Configure<RateLimitOptions>(builder.Configuration.GetSection(RateLimitOptions.SectionName));
        builder.Services.AddSingleton<RedisRateLimiter>();
        builder.Services.AddHostedService(services => services.GetRequiredService<RedisRateLimiter>());

        builder.Services.AddReverseProxy()
            .LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"))
            .AddServiceDiscoveryDestinationResolver();
    }
}
