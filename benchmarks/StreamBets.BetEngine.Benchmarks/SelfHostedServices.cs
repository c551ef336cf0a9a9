using System.Globalization;
using Npgsql;
using StreamBets.Testing;

namespace StreamBets.BetEngine.Benchmarks;

/// <summary>
/// PostgreSQL (fsync on, as in local mode) and Redis from the machine's packages, and the Users, Pools and Bet Engine
/// services each in its own process from its Release build (build them first, see docs/benchmarks.md), wired the way
/// the AppHost wires them; with --through-gateway also the Gateway, which then receives the bets. Logs go to the
/// servers' data folder.
/// </summary>
public sealed class SelfHostedServices : IAsyncDisposable
{
    private readonly PostgresServer _postgres = new();
    private readonly RedisServer _redis = new();
    private readonly ServiceProcesses _services;

    private SelfHostedServices() => _services = new ServiceProcesses(_postgres.DataDirectory);

    public TestTokens Tokens { get; } = TestTokens.New();
    public string UsersUrl { get; private set; } = "";
    public string PoolsUrl { get; private set; } = "";
    public string BetEngineUrl { get; private set; } = "";

    public static async Task<SelfHostedServices> StartAsync(BenchmarkOptions options)
    {
        var services = new SelfHostedServices();
        try
        {
            await services.StartAllAsync(options.ThroughGateway);
            return services;
        }
        catch
        {
            await services.DisposeAsync();
            throw;
        }
    }

    private async Task StartAllAsync(bool throughGateway)
    {
        await Task.WhenAll(_postgres.StartAsync(), _redis.StartAsync());
        Console.WriteLine($"PostgreSQL on {_postgres.Port}, Redis on {_redis.Port}; logs in {_postgres.DataDirectory}");
        var prefix = $"bench-{Guid.NewGuid():N}";
        Dictionary<string, string> Common()
        {
            var environment = ServiceProcesses.CommonEnvironment(_redis.ConnectionString, Tokens, prefix);
            environment["Logging__LogLevel__StreamBets.BetEngine.Placement"] = Environment.GetEnvironmentVariable("BENCH_BETENGINE_LOG") ?? "Warning";
            return environment;
        }

        var usersPorts = ServicePorts.Free();
        var users = Common();
        users["ConnectionStrings__usersdb"] = _postgres.ConnectionString("usersdb");
        users["Wallet__SandboxFunding"] = "true";
        users["Users__BootstrapAdmin__Email"] = "";
        users["Auth__SigningKey"] = Tokens.PrivateKey;
        UsersUrl = await _services.StartAsync("StreamBets.Users", usersPorts, users);

        var poolsPorts = ServicePorts.Free();
        var pools = Common();
        pools["ConnectionStrings__poolsdb"] = _postgres.ConnectionString("poolsdb");
        pools["Documents__Store"] = "Postgres";
        PoolsUrl = await _services.StartAsync("StreamBets.Pools", poolsPorts, pools);

        var bets = Common();
        bets["ConnectionStrings__betsdb"] = _postgres.ConnectionString("betsdb");
        bets["services__users__grpc__0"] = usersPorts.GrpcUrl;
        bets["services__pools__grpc__0"] = poolsPorts.GrpcUrl;
        var betEnginePorts = ServicePorts.Free();
        BetEngineUrl = await _services.StartAsync("StreamBets.BetEngine", betEnginePorts, bets);
        if (!throughGateway)
        {
            return;
        }

        var gateway = Common();
        gateway["services__users__http__0"] = usersPorts.HttpUrl;
        gateway["services__pools__http__0"] = poolsPorts.HttpUrl;
        gateway["services__betengine__http__0"] = betEnginePorts.HttpUrl;
        gateway["services__betengine__grpc__0"] = betEnginePorts.GrpcUrl;
        foreach (var absent in new[] { "settlement", "payments", "analytics", "integration", "realtime" })
        {
            gateway[$"services__{absent}__http__0"] = "http://127.0.0.1:9"; // not started: their routes answer 502
        }
        BetEngineUrl = await _services.StartAsync("StreamBets.Gateway", ServicePorts.Free(), gateway);
    }

    /// <summary>After the run: the money and the bets, read from the databases themselves.</summary>
    public async Task<string> VerifyAsync(Guid poolId, int acceptedSeen, long acceptedStakeMinor)
    {
        await Task.Delay(TimeSpan.FromSeconds(2)); // answers of the last batch may still be on the way back
        await using var usersDb = new NpgsqlConnection(_postgres.ConnectionString("usersdb"));
        await usersDb.OpenAsync();
        await using var escrow = new NpgsqlCommand("SELECT coalesce((SELECT balance FROM ledger_accounts WHERE code = $1), 0)", usersDb);
        escrow.Parameters.AddWithValue($"escrow:pool:{poolId}");
        var escrowBalance = (long)(await escrow.ExecuteScalarAsync())!;

        await using var betsDb = new NpgsqlConnection(_postgres.ConnectionString("betsdb"));
        await betsDb.OpenAsync();
        await using var counts = new NpgsqlCommand(
            "SELECT count(*) FILTER (WHERE status = 'accepted'), coalesce(sum(stake_minor) FILTER (WHERE status = 'accepted'), 0), count(*) FILTER (WHERE status = 'pending') FROM bets WHERE pool_id = $1",
            betsDb);
        counts.Parameters.AddWithValue(poolId);
        await using var reader = await counts.ExecuteReaderAsync();
        await reader.ReadAsync();
        return string.Create(CultureInfo.InvariantCulture,
            $"Check: {reader.GetInt64(0)} bets accepted in betsdb (the client saw {acceptedSeen}), {reader.GetInt64(2)} pending; accepted stakes {reader.GetInt64(1)} (client: {acceptedStakeMinor}); escrow balance in the ledger {escrowBalance}");
    }

    public async ValueTask DisposeAsync()
    {
        await _services.DisposeAsync();
        await _redis.DisposeAsync();
        await _postgres.DisposeAsync();
    }
}
