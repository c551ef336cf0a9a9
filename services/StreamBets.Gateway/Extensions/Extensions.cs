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
        builder.AddRedisClient("redis", settings => settings.DisableHealthChecks = true);
        builder.AddRedisFallbackHealthCheck();
        builder.Services.Configure<RateLimitOptions>(builder.Configuration.GetSection(RateLimitOptions.SectionName));
        builder.Services.AddSingleton<RedisRateLimiter>();
        builder.Services.AddHostedService(services => services.GetRequiredService<RedisRateLimiter>());

        // Players' bets go to the Bet Engine over one gRPC stream; everything else through the proxy. Without the default
        // resilience handler: its retries of a refused connection (2, 4, 8 s apart) held every bet to the answer deadline
        // where the relay answers 503 at once, and the relay has its own deadline and reconnects.
#pragma warning disable EXTEXP0001 // RemoveAllResilienceHandlers is marked experimental; it is the documented way to opt a client out of the defaults.
        builder.Services.AddGrpcClient<BetEngineClient>(o => o.Address = new("http://_grpc.betengine")).RemoveAllResilienceHandlers();
#pragma warning restore EXTEXP0001
        builder.Services.AddOptions<BetRelayOptions>().Bind(builder.Configuration.GetSection(BetRelayOptions.SectionName))
            .Validate(o => o.AnswerDeadline > TimeSpan.Zero, $"{BetRelayOptions.SectionName}:AnswerDeadline must be positive.").ValidateOnStart();
        builder.Services.AddSingleton<BetRelay>();
        builder.Services.AddHostedService(services => services.GetRequiredService<BetRelay>());

        builder.Services.AddReverseProxy()
            .LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"))
            .AddServiceDiscoveryDestinationResolver();
    }
}
