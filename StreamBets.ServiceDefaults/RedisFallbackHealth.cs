using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// The health of a Redis the service works without: the Gateway's rate limits fall back to local counts, session
/// revocation fails open, the Bet Engine's and Pools' totals come from PostgreSQL. Its outage reports Degraded, which
/// <c>/health</c> answers 200, so readiness keeps every replica serving instead of taking them all out of rotation at
/// once. Register the client with <c>DisableHealthChecks</c> (its own check reports Unhealthy).
/// </summary>
public static class RedisFallbackHealth
{
    public const string CheckName = "redis (with fallback)";

    public static IHostApplicationBuilder AddRedisFallbackHealthCheck(this IHostApplicationBuilder builder)
    {
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            CheckName, services => new PingCheck(services.GetRequiredService<IConnectionMultiplexer>()), HealthStatus.Degraded, tags: null));
        return builder;
    }

    private sealed class PingCheck(IConnectionMultiplexer redis) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await redis.GetDatabase().PingAsync();
                return HealthCheckResult.Healthy();
            }
            catch (Exception e) when (e is RedisException or RedisTimeoutException or ObjectDisposedException)
            {
                return new HealthCheckResult(context.Registration.FailureStatus, "Redis does not answer; the service falls back without it.", e);
            }
        }
    }
}
