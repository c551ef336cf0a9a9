namespace StreamBets.Analytics.ClickHouse;

public static class ClickHouseDefaults
{
    public const string ConnectionName = "clickhouse";
    public const string HttpClientName = "clickhouse";

    /// <summary>
    /// The connection string is the base URL of ClickHouse's HTTP interface, e.g. http://127.0.0.1:8123.
    /// ClickHouse.Driver cannot talk to the 18.16 server of local mode, so we use HTTP with JSONEachRow.
    /// </summary>
    public static IHostApplicationBuilder AddClickHouse(this IHostApplicationBuilder builder)
    {
        var connectionString = builder.Configuration.GetConnectionString(ConnectionName)
            ?? throw new InvalidOperationException($"ConnectionStrings:{ConnectionName} is not configured.");
        builder.Services.AddHttpClient(HttpClientName, client => client.BaseAddress = new Uri(connectionString.TrimEnd('/') + "/"));
        builder.Services.AddHealthChecks().AddCheck<ClickHouseHealthCheck>("clickhouse");
        return builder;
    }
}
