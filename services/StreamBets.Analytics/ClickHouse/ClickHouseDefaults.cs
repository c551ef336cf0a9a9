using Microsoft.Extensions.Http.Resilience;

namespace StreamBets.Analytics.ClickHouse;

public static class ClickHouseDefaults
{
    public const string ConnectionName = "clickhouse";
    public const string HttpClientName = "clickhouse";
    public const string HealthClientName = "clickhouse-health";

    /// <summary>
    /// The connection string is the base URL of ClickHouse's HTTP interface, e.g. http://127.0.0.1:8123.
    /// ClickHouse.Driver cannot talk to the 18.16 server of local mode, so we use HTTP with JSONEachRow.
    /// </summary>
    public static IHostApplicationBuilder AddClickHouse(this IHostApplicationBuilder builder)
    {
        var connectionString = builder.Configuration.GetConnectionString(ConnectionName)
            ?? throw new InvalidOperationException($"ConnectionStrings:{ConnectionName} is not configured.");
        var baseAddress = new Uri(connectionString.TrimEnd('/') + "/");
        // Reads only are retried: an INSERT that timed out may have landed (ClickHouse commits it anyway), and MergeTree
        // tables keep no unique key to drop the copy a retry would add.
#pragma warning disable EXTEXP0001 // RemoveAllResilienceHandlers is marked experimental; it is the documented way to opt a client out of the defaults.
        builder.Services.AddHttpClient(HttpClientName, client => client.BaseAddress = baseAddress)
            .RemoveAllResilienceHandlers()
            .AddStandardResilienceHandler(resilience => resilience.Retry.DisableForUnsafeHttpMethods());
#pragma warning restore EXTEXP0001
        // A health check reports what it sees now; the prober asks again. Every factory client gets the standard
        // resilience handler (ServiceDefaults), through which a down server showed as a 5 s timeout after retries
        // instead of "unreachable", so the check has a plain client of its own.
        builder.Services.AddKeyedSingleton(HealthClientName, (_, _) => new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            BaseAddress = baseAddress,
        });
        builder.Services.AddHealthChecks().AddCheck<ClickHouseHealthCheck>("clickhouse");
        builder.Services.AddHostedService<ClickHouseWarmup>();
        return builder;
    }
}
