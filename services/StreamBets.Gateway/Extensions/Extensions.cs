using StreamBets.Gateway.Bets;
using StreamBets.Gateway.RateLimiting;
using BetEngineClient = StreamBets.Contracts.Bets.BetEngine.BetEngineClient;

namespace StreamBets.Gateway.Extensions;

internal static class Extensions
{
    /// <summary>Everything the gateway registers: JWT validation, Redis rate limiting, the bet relay and the YARP routes.</summary>
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddDefaultAuthentication();
        builder.AddRedisClient("redis");
        builder.Services.Configure<RateLimitOptions>(builder.Configuration.GetSection(RateLimitOptions.SectionName));
        builder.Services.AddSingleton<RedisRateLimiter>();
        builder.Services.AddHostedService(services => services.GetRequiredService<RedisRateLimiter>());

        // Players' bets go to the Bet Engine over one gRPC stream; everything else through the proxy.
        builder.Services.AddGrpcClient<BetEngineClient>(o => o.Address = new("http://_grpc.betengine"));
        builder.Services.AddOptions<BetRelayOptions>().Bind(builder.Configuration.GetSection(BetRelayOptions.SectionName))
            .Validate(o => o.AnswerDeadline > TimeSpan.Zero, $"{BetRelayOptions.SectionName}:AnswerDeadline must be positive.").ValidateOnStart();
        builder.Services.AddSingleton<BetRelay>();
        builder.Services.AddHostedService(services => services.GetRequiredService<BetRelay>());

        builder.Services.AddReverseProxy()
            .LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"))
            .AddServiceDiscoveryDestinationResolver();
    }
}
