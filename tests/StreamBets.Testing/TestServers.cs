namespace StreamBets.Testing;

/// <summary>
/// One server of each kind per test run, started on first use and killed when the test process exits.
/// Tests that stop a server to inject a fault start their own instance instead.
/// </summary>
public static class TestServers
{
    private static readonly Lazy<Task<PostgresServer>> SharedPostgres = new(() => StartAsync(() => new PostgresServer()));
    private static readonly Lazy<Task<RedisServer>> SharedRedis = new(() => StartAsync(() => new RedisServer()));
    private static readonly Lazy<Task<ClickHouseServer>> SharedClickHouse = new(() => StartAsync(() => new ClickHouseServer()));

    public static Task<PostgresServer> PostgresAsync() => SharedPostgres.Value;
    public static Task<RedisServer> RedisAsync() => SharedRedis.Value;
    public static Task<ClickHouseServer> ClickHouseAsync() => SharedClickHouse.Value;

    /// <summary>
    /// Starts a server, trying a fresh one (another port, another folder) if the first does not come up: a port taken
    /// between choosing and binding it, or a slow first start, would otherwise fail every test that shares the server.
    /// </summary>
    public static async Task<T> StartAsync<T>(Func<T> create) where T : LocalServer
    {
        const int attempts = 3;
        for (var attempt = 1; ; attempt++)
        {
            var server = create();
            try
            {
                await server.StartAsync();
                return server;
            }
            catch (Exception e) when (attempt < attempts && e is InvalidOperationException or TimeoutException)
            {
                Console.Error.WriteLine($"{server.Name} did not start (attempt {attempt} of {attempts}): {e.Message}");
                await server.DisposeAsync();
            }
        }
    }
}
