using Microsoft.AspNetCore.Server.Kestrel.Core;
using StreamBets.Gateway.Bets;
using StreamBets.Gateway.Problems;
using StreamBets.Gateway.RateLimiting;
using BetEngineClient = StreamBets.Contracts.Bets.BetEngine.BetEngineClient;

namespace StreamBets.Gateway.Extensions;

internal static class Extensions
{
    /// <summary>Everything the gateway registers: JWT validation, Redis rate limiting, the bet relay and the YARP routes.</summary>
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddDefaultAuthentication();
        // The host's own Kestrel setup reads only Endpoints, EndpointDefaults and Certificates from the section: without
        // this, appsettings' body limit was ignored and every proxied route took Kestrel's 30 MB on to the services.
        builder.Services.Configure<KestrelServerOptions>(kestrel => builder.Configuration.GetSection("Kestrel:Limits").Bind(kestrel.Limits));
        // A request from the internet starts a new trace here; a vouching front end's call continues the front end's trace.
        builder.AddEdgeTracing(trusted: services => new ClientNetworks(services.GetRequiredService<IConfiguration>()).IsVouchingFrontEnd);
        // After the defaults' own customizing (trace id, instance), which this keeps.
        builder.Services.PostConfigure<ProblemDetailsOptions>(options =>
        {
            var defaults = options.CustomizeProblemDetails;
            options.CustomizeProblemDetails = context =>
            {
                defaults?.Invoke(context);
                GatewayProblems.GiveStableType(context);
            };
        });
        builder.AddRedisClient("redis", settings => settings.DisableHealthChecks = true);
        builder.AddRedisFallbackHealthCheck();
        // Checked at start: a window of 0 divided every request by zero (each a 500), a negative one gave a negative
        // Retry-After, a budget of 0 refuses everyone, and a SyncInterval of 0 failed the sync loop only once running.
        const string rateLimiting = RateLimitOptions.SectionName;
        builder.Services.AddOptions<RateLimitOptions>().Bind(builder.Configuration.GetSection(rateLimiting))
            .Validate(o => o.WindowSeconds > 0, $"{rateLimiting}:WindowSeconds must be 1 or more.")
            .Validate(o => o.AnonymousPermitsPerWindow > 0, $"{rateLimiting}:AnonymousPermitsPerWindow must be 1 or more.")
            .Validate(o => o.AuthenticatedPermitsPerWindow > 0, $"{rateLimiting}:AuthenticatedPermitsPerWindow must be 1 or more.")
            .Validate(o => o.FrontEndPermitsPerWindow > 0, $"{rateLimiting}:FrontEndPermitsPerWindow must be 1 or more.")
            .Validate(o => o.AnonymousSitePermitsPerWindow >= 0,
                $"{rateLimiting}:AnonymousSitePermitsPerWindow must be 0 (no /48 budget) or more.")
            .Validate(o => o.SyncInterval > TimeSpan.Zero, $"{rateLimiting}:SyncInterval must be positive.").ValidateOnStart();
        builder.Services.AddSingleton<RedisRateLimiter>();
        builder.Services.AddHostedService(services => services.GetRequiredService<RedisRateLimiter>());

        // Players' bets go to the Bet Engine over one gRPC stream; everything else through the proxy. Without the default
        // resilience handler: its retries of a refused connection (2, 4, 8 s apart) held every bet to the answer deadline
        // where the relay answers 503 at once, and the relay has its own deadline and reconnects. Pings because a stalled
        // stream's drop disposes only the call: on a connection to a host that vanished without closing TCP, the next
        // stream would open on it too and every bet wait out its deadline for minutes. The relay's stream is always open,
        // so a ping follows 5 s without a frame, and 5 s without its answer closes the connection: found dead within 10 s
        // (about one answer deadline), and a ping per 5 s idle costs nothing.
#pragma warning disable EXTEXP0001 // RemoveAllResilienceHandlers is marked experimental; it is the documented way to opt a client out of the defaults.
        builder.Services.AddGrpcClient<BetEngineClient>(o => o.Address = new("http://_grpc.betengine"))
            .ConfigurePrimaryHandlerWithKeepAlivePings(pingDelay: TimeSpan.FromSeconds(5), pingTimeout: TimeSpan.FromSeconds(5))
            .RemoveAllResilienceHandlers();
#pragma warning restore EXTEXP0001
        builder.Services.AddOptions<BetRelayOptions>().Bind(builder.Configuration.GetSection(BetRelayOptions.SectionName))
            .Validate(o => o.AnswerDeadline > TimeSpan.Zero, $"{BetRelayOptions.SectionName}:AnswerDeadline must be positive.")
            .Validate(o => o.StreamLifetime > TimeSpan.Zero, $"{BetRelayOptions.SectionName}:StreamLifetime must be positive.").ValidateOnStart();
        builder.Services.AddSingleton<BetRelay>();
        builder.Services.AddHostedService(services => services.GetRequiredService<BetRelay>());

        builder.Services.AddReverseProxy()
            .LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"))
            .AddServiceDiscoveryDestinationResolver();
    }
}
