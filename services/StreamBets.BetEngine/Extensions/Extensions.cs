using StreamBets.BetEngine.Apis;
using StreamBets.BetEngine.Data;
using StreamBets.BetEngine.Eligibility;
using StreamBets.BetEngine.IntegrationEvents.EventHandling;
using StreamBets.BetEngine.Ledger;
using StreamBets.BetEngine.Odds;
using StreamBets.BetEngine.Placement;
using StreamBets.BetEngine.Pools;
using StreamBets.BetEngine.Settlement;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Contracts.Users;
using StreamBets.Contracts.Wallet;
using StreamBets.Messaging;
using PoolsClient = StreamBets.Contracts.Pools.Pools.PoolsClient;

namespace StreamBets.BetEngine.Extensions;

internal static class Extensions
{
    /// <summary>Everything the BetEngine service registers, in one place.</summary>
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddDefaultAuthentication();
        builder.AddDefaultOpenApi();
        builder.AddGrpcDefaults();

        // Stores: betsdb (bets, one-outcome rows, totals, outbox/inbox) and Redis (live totals per outcome).
        builder.AddNpgsqlDataSource("betsdb");
        builder.AddPostgresSchema("betsdb", typeof(Extensions).Assembly);
        builder.AddRedisClient("redis", settings => settings.DisableHealthChecks = true);
        builder.AddRedisFallbackHealthCheck();

        // Events: BetsPlaced and OddsChanged go out through the outbox; pool transitions close the snapshot cache at once,
        // and a player's self-exclusion or KYC change drops their cached eligibility.
        builder.AddEventBus("betsdb")
            .AddSubscription<PoolOpened, PoolStateHandlers>()
            .AddSubscription<PoolLocked, PoolStateHandlers>()
            .AddSubscription<PoolResolved, PoolStateHandlers>()
            .AddSubscription<PoolCancelled, PoolStateHandlers>()
            .AddSubscription<BetsSettled, BetsSettledHandler>()
            .AddSubscription<PlayerSelfExcluded, PlayerEligibilityHandlers>()
            .AddSubscription<KycStatusChanged, PlayerEligibilityHandlers>();

        builder.Services.AddDependencyClients();

        var services = builder.Services;
        // Azure Container Apps kills a replica 30 s after SIGTERM: stopping within 25 s lets a batch mid-ledger call (its
        // deadline is 15 s) finish and be answered on its relay stream, rather than be killed and left to recovery.
        services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(25));
        services.Configure<BetEngineOptions>(builder.Configuration.GetSection(BetEngineOptions.SectionName));
        services.AddSingleton<IPoolDirectory, GrpcPoolDirectory>();
        services.AddSingleton<EligibilityCache>();
        services.AddSingleton<EligibilityChanges>();
        services.AddHostedService(sp => sp.GetRequiredService<EligibilityChanges>());
        services.AddSingleton<StakeLedger>();
        services.AddSingleton<BetStore>();
        services.AddSingleton<BatchFinalizer>();
        services.AddSingleton<LiveTotals>();
        services.AddSingleton<OddsPublisher>();
        services.AddHostedService(sp => sp.GetRequiredService<OddsPublisher>());
        services.AddSingleton<BetBatchPipeline>();
        services.AddSingleton<PoolBatchers>();
        services.AddSingleton<BetPlacement>();
        services.AddSingleton<RestBetRelay>();
        services.AddSingleton<PendingBetRecovery>();
        services.AddHostedService(sp => sp.GetRequiredService<PendingBetRecovery>());
        services.AddSingleton<RecoveryBacklogGauges>();
        services.AddHostedService(sp => sp.GetRequiredService<RecoveryBacklogGauges>());
        services.AddSingleton<FinishedPoolOutcomesCleanup>();
        services.AddHostedService(sp => sp.GetRequiredService<FinishedPoolOutcomesCleanup>());
        services.AddSingleton<PoolBetsFeed>();
    }

    /// <summary>
    /// The synchronous dependencies over gRPC: the wallet ledger and eligibility (Users), pool snapshots (Pools). Without
    /// the defaults' resilience handler: each call has its own deadline (a ledger call 15 s, which the handler's 10 s
    /// attempt timeout cut short and retried), and a refused connection retried 2, 4 and 8 s apart held the pool's batch
    /// until the Gateway's answer deadline dropped the relay stream for every player; failing fast answers the bets
    /// pending (or refused) at once and recovery finishes them. Pings find a peer host that vanished.
    /// </summary>
    internal static void AddDependencyClients(this IServiceCollection services)
    {
#pragma warning disable EXTEXP0001 // RemoveAllResilienceHandlers is marked experimental; it is the documented way to opt a client out of the defaults.
        static void Direct(IHttpClientBuilder client) => client
            .ConfigurePrimaryHandlerWithKeepAlivePings(pingDelay: TimeSpan.FromSeconds(5), pingTimeout: TimeSpan.FromSeconds(5))
            .RemoveAllResilienceHandlers();
#pragma warning restore EXTEXP0001
        Direct(services.AddGrpcClient<Wallet.WalletClient>(o => o.Address = new("http://_grpc.users")));
        Direct(services.AddGrpcClient<UserAccounts.UserAccountsClient>(o => o.Address = new("http://_grpc.users")));
        Direct(services.AddGrpcClient<PoolsClient>(o => o.Address = new("http://_grpc.pools")));
    }
}
