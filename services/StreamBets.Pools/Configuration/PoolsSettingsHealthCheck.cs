using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace StreamBets.Pools.Configuration;

/// <summary>
/// The document store as this replica depends on it: through the pools configuration. Degraded, never Unhealthy: with
/// no settings in force pool creation answers 503 and the sweeper lacks the configured term, and with stale ones admins'
/// changes do not arrive, but reads, the Bet Engine's and Settlement's calls and the admin PUT that mends an invalid
/// document all still work, and a store outage or a bad document hits every replica at once: a readiness probe must
/// not take them all out of rotation (as with Redis). Healthy otherwise. It reports the provider's last read, which the sweeper renews every few seconds, so a probe
/// adds no load: only a replica with nothing in force reads, and that read (or refusal) is cached like any other.
/// </summary>
public sealed class PoolsSettingsHealthCheck(PoolsSettingsProvider settings) : IHealthCheck
{
    public const string Name = "document store (pools configuration)";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (settings.InForce is null)
        {
            try
            {
                await settings.GetAsync(cancellationToken);
            }
            catch (PoolsSettingsUnavailableException e)
            {
                return HealthCheckResult.Degraded($"No pools configuration in force, so pools cannot be created: {e.Message}", e.InnerException);
            }
        }

        return settings.LastRead switch
        {
            { Outcome: StoreReadOutcome.StoreFailed, Since: var since } => HealthCheckResult.Degraded(
                $"The document store has not answered since {since:O}; the pools configuration read before stays in force."),
            { Outcome: StoreReadOutcome.Invalid, Since: var since } => HealthCheckResult.Degraded(
                $"The stored pools configuration has been invalid since {since:O}; the last valid one stays in force. Correct it with PUT /api/pools/admin/config."),
            _ => HealthCheckResult.Healthy(),
        };
    }
}
