using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;
using StreamBets.Settlement.Data;
using StreamBets.Settlement.IntegrationEvents.EventHandling;
using StreamBets.Settlement.Payouts;
using BetEngineClient = StreamBets.Contracts.Bets.BetEngine.BetEngineClient;
using PoolsClient = StreamBets.Contracts.Pools.Pools.PoolsClient;
using WalletClient = StreamBets.Contracts.Wallet.Wallet.WalletClient;

namespace StreamBets.Settlement.Extensions;

internal static class Extensions
{
    /// <summary>Everything the Settlement service registers, in one place.</summary>
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddDefaultAuthentication();
        builder.AddDefaultOpenApi();
        builder.AddGrpcDefaults();

        // settlementdb: settlements, settled bets, outbox/inbox.
        builder.AddNpgsqlDataSource("settlementdb");
        builder.AddPostgresSchema("settlementdb", typeof(Extensions).Assembly);

        // Events: finished pools become due settlements; BetsSettled and PoolSettled go out through the outbox.
        builder.AddEventBus("settlementdb")
            .AddSubscription<PoolResolved, PoolFinishedHandler>()
            .AddSubscription<PoolCancelled, PoolFinishedHandler>();

        // gRPC: the bets (BetEngine), the payouts (Pools), the money (Users' wallet). The defaults' HTTP resilience
        // handler is removed: its 10 s attempt timeout would cut the streaming calls, and the run retries by itself
        // (every transfer id is derived, so a retry is always safe). Pings find a peer host that vanished, so a retry's
        // call does not hang on its dead connection too (until the stream idle timeout, again and again).
        const int MaxMessageBytes = 64 * 1024 * 1024;
        var pingDelay = TimeSpan.FromSeconds(15);
        var pingTimeout = TimeSpan.FromSeconds(15);
#pragma warning disable EXTEXP0001 // RemoveAllResilienceHandlers is marked experimental; it is the documented way to opt a client out of the defaults.
        builder.Services.AddGrpcClient<BetEngineClient>(o => o.Address = new("http://_grpc.betengine"))
            .ConfigureChannel(c => c.MaxReceiveMessageSize = MaxMessageBytes).ConfigurePrimaryHandlerWithKeepAlivePings(pingDelay, pingTimeout).RemoveAllResilienceHandlers();
        builder.Services.AddGrpcClient<PoolsClient>(o => o.Address = new("http://_grpc.pools"))
            .ConfigureChannel(c => c.MaxReceiveMessageSize = MaxMessageBytes).ConfigurePrimaryHandlerWithKeepAlivePings(pingDelay, pingTimeout).RemoveAllResilienceHandlers();
        builder.Services.AddGrpcClient<WalletClient>(o => o.Address = new("http://_grpc.users"))
            .ConfigureChannel(c => c.MaxReceiveMessageSize = MaxMessageBytes).ConfigurePrimaryHandlerWithKeepAlivePings(pingDelay, pingTimeout).RemoveAllResilienceHandlers();
#pragma warning restore EXTEXP0001

        var services = builder.Services;
        services.Configure<SettlementOptions>(builder.Configuration.GetSection(SettlementOptions.SectionName));
        services.AddSingleton<SettlementStore>();
        services.AddSingleton<SettlementWorkerSignal>();
        services.AddSingleton<PoolSettlementRun>();
        services.AddHostedService<SettlementWorker>();
        services.AddSingleton<SettlementBacklog>();
        services.AddHostedService(sp => sp.GetRequiredService<SettlementBacklog>());
        // A finished pool whose PoolResolved/PoolCancelled was lost on the bus is found through Pools and recorded due.
        services.AddHostedService<SettlementReconciler>();
    }
}
