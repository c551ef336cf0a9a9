using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using StackExchange.Redis;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// What every StreamBets service shares: telemetry, health, service discovery, resilience and
/// RFC 7807 problem details. A service's Program.cs starts with <c>builder.AddServiceDefaults()</c>
/// and ends its endpoint mapping with <c>app.MapDefaultEndpoints()</c>.
/// </summary>
public static class Extensions
{
    public const string HealthEndpointPath = "/health";
    public const string AlivenessEndpointPath = "/alive";

    /// <summary>The ActivitySource name prefix every StreamBets library uses, so one trace follows a bet.</summary>
    public const string ActivitySourcePrefix = "StreamBets";

    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.ConfigureOpenTelemetry();
        builder.AddDefaultHealthChecks();
        builder.AddDefaultProblemDetails();

        builder.Services.AddServiceDiscovery();
        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            // Applies to gRPC clients too: they are HttpClientFactory clients. Only safe methods are retried: a POST
            // resent after a timeout is safe only when its idempotency key was fixed before the first send, which a
            // new client need not do (the money-moving gRPC clients drop this handler and set their own deadlines).
            http.AddStandardResilienceHandler(resilience => resilience.Retry.DisableForUnsafeHttpMethods());
            http.AddServiceDiscovery();
        });
        builder.Services.AddSingleton(TimeProvider.System);
        // Redis replies complete on the .NET thread pool, not on StackExchange.Redis's own ten threads per process:
        // on two cores those threads only add hand-offs (docs/benchmarks.md, "Bet placement", session 29).
        builder.Services.PostConfigureAll<ConfigurationOptions>(options => options.SocketManager = SocketManager.ThreadPool);
        return builder;
    }

    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddMeter($"{ActivitySourcePrefix}.*"))
            .WithTracing(tracing => tracing
                .AddSource(builder.Environment.ApplicationName)
                .AddSource($"{ActivitySourcePrefix}.*")
                .AddSource("Npgsql")
                .AddAspNetCoreInstrumentation(options =>
                    // Health probes would drown the traces SREs actually want to read.
                    options.Filter = context =>
                        !context.Request.Path.StartsWithSegments(HealthEndpointPath)
                        && !context.Request.Path.StartsWithSegments(AlivenessEndpointPath))
                .AddGrpcClientInstrumentation()
                .AddHttpClientInstrumentation()
                // Before the exporter, so the polls it marks are never exported.
                .AddProcessor(new UntracedStoreCallFilter()));

        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            builder.Services.AddOpenTelemetry().UseOtlpExporter();
        }

        return builder;
    }

    public static readonly TimeSpan HealthCheckTimeout = TimeSpan.FromSeconds(5);

    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), ["live"]);
        // A store that stops answering must make /health say Unhealthy quickly, not hang the probe (or the gateway's
        // /health/{service} route) for as long as the store client keeps retrying.
        builder.Services.PostConfigure<HealthCheckServiceOptions>(options =>
        {
            foreach (var registration in options.Registrations.Where(r => r.Timeout == Timeout.InfiniteTimeSpan))
            {
                registration.Timeout = HealthCheckTimeout;
            }
        });
        // Probes reach every service's /health from the internet (the gateway's /health/{service}): each would run every
        // store check, and during a database slowdown hold connections players' requests wait for.
        builder.Services.ReuseHealthResults();
        return builder;
    }

    /// <summary>
    /// <c>/health</c> is readiness: every check, including the service's own stores.
    /// <c>/alive</c> is liveness: only the process itself.
    /// Call it first after Build(): it also installs the problem-details error handling.
    /// </summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.UseDefaultProblemDetails();
        // A probe that gives up (its own timeout while the service is still starting) aborts its request, which
        // cancelled the store checks: each then reported Unhealthy and the framework logged that as an error. The
        // checks end by their own timeout instead. Only this process's own probes: a path under them (the gateway's
        // /health/users...) is proxied, and a client giving up must cancel the proxied call, not leave it to YARP's 100 s.
        app.Use((context, next) =>
        {
            if (IsOwnProbe(context.Request.Path))
            {
                context.RequestAborted = CancellationToken.None;
            }
            return next(context);
        });
        app.MapHealthChecks(HealthEndpointPath).AllowAnonymous().DisableHttpMetrics();
        app.MapHealthChecks(AlivenessEndpointPath, new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains("live"),
        }).AllowAnonymous().DisableHttpMetrics();
        return app;
    }

    /// <summary>
    /// This process's own <c>/health</c> or <c>/alive</c> as routing maps them: any case, with or without a trailing slash
    /// (<c>/health/</c> is the same probe), but not a path under them (the gateway's <c>/health/users</c> is proxied).
    /// </summary>
    public static bool IsOwnProbe(PathString path) => IsExactly(path, HealthEndpointPath) || IsExactly(path, AlivenessEndpointPath);

    /// <summary>The path routing maps to <paramref name="endpoint"/>: the same, or with a trailing slash.</summary>
    private static bool IsExactly(PathString path, string endpoint) =>
        path.StartsWithSegments(endpoint, out var rest) && (!rest.HasValue || rest == "/");
}
