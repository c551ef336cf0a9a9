using System.Globalization;
using Npgsql;
using StreamBets.Testing;

namespace StreamBets.BetEngine.Benchmarks;

/// <summary>
/// PostgreSQL (fsync on, as in local mode) and Redis from the machine's packages, and the Users, Pools and Bet Engine
/// services each in its own process from its Release build (build them first, see docs/benchmarks.md), wired the way
/// the AppHost wires them. Logs go to the servers' data folder.
/// </summary>
public sealed class SelfHostedServices : IAsyncDisposable
{
    private readonly List<ServiceProcess> _services = [];
    private readonly PostgresServer _postgres = new();
    private readonly RedisServer _redis = new();

    public string SigningKey { get; } = $"benchmark-signing-key-{Guid.NewGuid():N}";
    public string UsersUrl { get; private set; } = "";
    public string PoolsUrl { get; private set; } = "";
    public string BetEngineUrl { get; private set; } = "";

    public static async Task<SelfHostedServices> StartAsync(BenchmarkOptions options)
    {
        var services = new SelfHostedServices();
        try
        {
            await services.StartAllAsync();
            return services;
        }
        catch
        {
            await services.DisposeAsync();
            throw;
        }
    }

    private async Task StartAllAsync()
    {
        await Task.WhenAll(_postgres.StartAsync(), _redis.StartAsync());
        Console.WriteLine($"PostgreSQL on {_postgres.Port}, Redis on {_redis.Port}; logs in {_postgres.DataDirectory}");
        var prefix = $"bench-{Guid.NewGuid():N}";
        Dictionary<string, string> Common() => new()
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__Microsoft.AspNetCore"] = "Warning",
            ["Logging__LogLevel__StreamBets.BetEngine.Placement"] = Environment.GetEnvironmentVariable("BENCH_BETENGINE_LOG") ?? "Warning",
            ["ConnectionStrings__redis"] = _redis.ConnectionString,
            ["Auth__SigningKey"] = SigningKey,
            ["Messaging__RedisStreams__KeyPrefix"] = prefix,
        };

        var (usersHttp, usersGrpc) = (ServiceProcess.FreePort(), ServiceProcess.FreePort());
        var users = Common();
        users["ConnectionStrings__usersdb"] = _postgres.ConnectionString("usersdb");
        users["Wallet__SandboxFunding"] = "true";
        users["Users__BootstrapAdmin__Email"] = "";
        UsersUrl = await StartServiceAsync("StreamBets.Users", usersHttp, usersGrpc, users);

        var (poolsHttp, poolsGrpc) = (ServiceProcess.FreePort(), ServiceProcess.FreePort());
        var pools = Common();
        pools["ConnectionStrings__poolsdb"] = _postgres.ConnectionString("poolsdb");
        pools["Documents__Store"] = "Postgres";
        PoolsUrl = await StartServiceAsync("StreamBets.Pools", poolsHttp, poolsGrpc, pools);

        var (betsHttp, betsGrpc) = (ServiceProcess.FreePort(), ServiceProcess.FreePort());
        var bets = Common();
        bets["ConnectionStrings__betsdb"] = _postgres.ConnectionString("betsdb");
        bets["services__users__grpc__0"] = $"http://127.0.0.1:{usersGrpc}";
        bets["services__pools__grpc__0"] = $"http://127.0.0.1:{poolsGrpc}";
        BetEngineUrl = await StartServiceAsync("StreamBets.BetEngine", betsHttp, betsGrpc, bets);
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
        foreach (var service in _services)
        {
            await service.DisposeAsync();
        }
        await _redis.DisposeAsync();
        await _postgres.DisposeAsync();
    }

    private async Task<string> StartServiceAsync(string project, int httpPort, int grpcPort, Dictionary<string, string> environment)
    {
        environment["Kestrel__Endpoints__grpc__Url"] = $"http://127.0.0.1:{grpcPort}";
        var service = await ServiceProcess.StartAsync(project, httpPort, environment, Path.Combine(_postgres.DataDirectory, $"{project}.log"));
        _services.Add(service);
        Console.WriteLine($"{project} is up at {service.Url} (gRPC on {grpcPort})");
        return service.Url;
    }
}
