using StreamBets.Testing;

namespace StreamBets.Settlement.Benchmarks;

/// <summary>PostgreSQL and Redis from the machine's packages, and Users, Pools, the Bet Engine and Settlement as their own
/// processes from their Release builds, wired as the AppHost wires them. Logs go to the PostgreSQL data folder.</summary>
public sealed class SettlementServices : IAsyncDisposable
{
    private readonly ServiceProcesses _processes;

    private SettlementServices() => _processes = new ServiceProcesses(Postgres.DataDirectory);

    public PostgresServer Postgres { get; } = new();
    public RedisServer Redis { get; } = new();
    public TestTokens Tokens { get; } = TestTokens.New();
    public string PoolsUrl { get; private set; } = "";
    public string UsersGrpcUrl { get; private set; } = "";

    public static async Task<SettlementServices> StartAsync(SettlementBenchmarkOptions options)
    {
        var services = new SettlementServices();
        try
        {
            await services.StartAllAsync(options);
            return services;
        }
        catch
        {
            await services.DisposeAsync();
            throw;
        }
    }

    private async Task StartAllAsync(SettlementBenchmarkOptions options)
    {
        await Task.WhenAll(Postgres.StartAsync(), Redis.StartAsync());
        Console.WriteLine($"PostgreSQL on {Postgres.Port}, Redis on {Redis.Port}; logs in {Postgres.DataDirectory}");
        var prefix = $"bench-{Guid.NewGuid():N}";
        Dictionary<string, string> Common()
        {
            var environment = ServiceProcesses.CommonEnvironment(Redis.ConnectionString, Tokens, prefix);
            environment["Logging__LogLevel__StreamBets.Settlement"] = "Information";
            return environment;
        }

        var users = ServicePorts.Free();
        var environment = Common();
        environment["ConnectionStrings__usersdb"] = Postgres.ConnectionString("usersdb");
        environment["Users__BootstrapAdmin__Email"] = "";
        environment["Auth__SigningKey"] = Tokens.PrivateKey;
        await _processes.StartAsync("StreamBets.Users", users, environment);
        UsersGrpcUrl = users.GrpcUrl;

        var pools = ServicePorts.Free();
        environment = Common();
        environment["ConnectionStrings__poolsdb"] = Postgres.ConnectionString("poolsdb");
        environment["Documents__Store"] = "Postgres";
        PoolsUrl = await _processes.StartAsync("StreamBets.Pools", pools, environment);

        var betEngine = ServicePorts.Free();
        environment = Common();
        environment["ConnectionStrings__betsdb"] = Postgres.ConnectionString("betsdb");
        environment["services__users__grpc__0"] = users.GrpcUrl;
        environment["services__pools__grpc__0"] = pools.GrpcUrl;
        await _processes.StartAsync("StreamBets.BetEngine", betEngine, environment);

        environment = Common();
        environment["ConnectionStrings__settlementdb"] = Postgres.ConnectionString("settlementdb");
        environment["services__users__grpc__0"] = users.GrpcUrl;
        environment["services__pools__grpc__0"] = pools.GrpcUrl;
        environment["services__betengine__grpc__0"] = betEngine.GrpcUrl;
        environment["Settlement__BetsPerChunk"] = options.BetsPerChunk.ToString(System.Globalization.CultureInfo.InvariantCulture);
        environment["Settlement__BetsPerPayment"] = options.BetsPerPayment.ToString(System.Globalization.CultureInfo.InvariantCulture);
        environment["Settlement__PaymentConcurrency"] = options.PaymentConcurrency.ToString(System.Globalization.CultureInfo.InvariantCulture);
        environment["Settlement__PollInterval"] = "00:00:00.100";
        await _processes.StartAsync("StreamBets.Settlement", ServicePorts.Free(), environment);
    }

    public async ValueTask DisposeAsync()
    {
        await _processes.DisposeAsync();
        await Redis.DisposeAsync();
        await Postgres.DisposeAsync();
    }
}
