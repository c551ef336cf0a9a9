using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace StreamBets.Analytics.ClickHouse;

/// <summary>ClickHouse answers "Ok." on /ping of its HTTP interface, the one interface 18.16 and current servers share.</summary>
public sealed class ClickHouseHealthCheck([FromKeyedServices(ClickHouseDefaults.HealthClientName)] HttpClient http) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            using var response = await http.GetAsync("ping", cancellationToken);
            return response.IsSuccessStatusCode
                ? HealthCheckResult.Healthy()
                : HealthCheckResult.Unhealthy($"ClickHouse answered {(int)response.StatusCode}.");
        }
        catch (HttpRequestException e)
        {
            return HealthCheckResult.Unhealthy("ClickHouse is unreachable.", e);
        }
    }
}
