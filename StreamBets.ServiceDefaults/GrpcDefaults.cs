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
        builder.Services.AddGrpc(options => options.EnableDetailedErrors = builder.Environment.IsDevelopment());
        builder.Services.AddGrpcHealthChecks();
        builder.Services.AddGrpcReflection();
        return builder;
    }

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
