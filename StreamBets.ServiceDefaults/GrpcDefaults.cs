using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// gRPC services answer the standard gRPC health protocol (backed by the same health checks as
/// <c>/health</c>) and, in development, server reflection so grpcurl can explore them.
/// They listen on a dedicated HTTP/2-only endpoint named "grpc" (see each service's appsettings.json),
/// because cleartext HTTP/2 needs prior knowledge and cannot share a port with HTTP/1.1.
/// </summary>
public static class GrpcDefaults
{
    public static TBuilder AddGrpcDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddGrpc(options =>
        {
            options.EnableDetailedErrors = builder.Environment.IsDevelopment();
            // No catch-all route for unknown methods: its pattern, {service}/{method}, also matched two-segment REST
            // routes such as POST /api/pools, and a body that was not JSON got 404 instead of 415. A call to an
            // unknown method still fails as UNIMPLEMENTED (the client reads the 404 as that).
            options.IgnoreUnknownServices = true;
        });
        builder.Services.AddGrpcHealthChecks();
        builder.Services.AddGrpcReflection();
        return builder;
    }

    /// <summary>
    /// HTTP/2 pings while calls are open: a peer host that vanished without closing TCP (node failure, partition) leaves
    /// a half-open connection nothing else detects, and every new call would be opened on it, and hang, until the OS
    /// gives up on it (minutes). A ping unanswered within <paramref name="pingTimeout"/> closes the connection, failing
    /// its calls, and the next call opens a new one. A call is checked after <paramref name="pingDelay"/> without a
    /// frame from the peer, so a dead connection is noticed within their sum.
    /// </summary>
    public static IHttpClientBuilder ConfigurePrimaryHandlerWithKeepAlivePings(this IHttpClientBuilder client, TimeSpan pingDelay, TimeSpan pingTimeout) =>
        client.ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            KeepAlivePingDelay = pingDelay,
            KeepAlivePingTimeout = pingTimeout,
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
        });

    public static WebApplication MapGrpcDefaults(this WebApplication app)
    {
        app.MapGrpcHealthChecksService().AllowAnonymous();
        if (app.Environment.IsDevelopment())
        {
            app.MapGrpcReflectionService().AllowAnonymous();
        }
        return app;
    }
}
