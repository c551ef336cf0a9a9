namespace StreamBets.Testing;

/// <summary>
/// One server of each kind per test run, started on first use and killed when the test process exits.
/// Tests that stop a server to inject a fault start their own instance instead.
/// </summary>
public static class TestServers
{
    private static readonly Lazy<Task<PostgresServer>> SharedPostgres = new(() => StartAsync(new PostgresServer()));
    private static readonly Lazy<Task<RedisServer>> SharedRedis = new(() => StartAsync(new RedisServer()));
    private static readonly Lazy<Task<ClickHouseServer>> SharedClickHouse = new(() => StartAsync(new ClickHouseServer()));

    public static Task<PostgresServer> PostgresAsync() => SharedPostgres.Value;
    public static Task<RedisServer> RedisAsync() => SharedRedis.Value;
    public static Task<ClickHouseServer> ClickHouseAsync() => SharedClickHouse.Value;

    public static async Task<T> StartAsync<T>(T server) where T : LocalServer
    {
        await server.StartAsync();
        return server;
    }
}
