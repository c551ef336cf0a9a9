using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;
using StreamBets.Pools.Configuration;
using StreamBets.Pools.Data;
using StreamBets.Pools.Documents;
using StreamBets.Pools.IntegrationEvents.EventHandling;
using StreamBets.Pools.Leaderboards;
using StreamBets.Pools.Management;
using StreamBets.Pools.Stakes;

namespace StreamBets.Pools.Extensions;

internal static class Extensions
{
    /// <summary>Everything the Pools service registers, in one place.</summary>
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddDefaultAuthentication();
        builder.AddDefaultOpenApi();
        builder.AddGrpcDefaults();

        // Stores: poolsdb (pools, outbox/inbox, leaderboard rows, documents in local mode), Redis (stakes, leaderboards),
        // and the document store for templates and dynamic configuration (MongoDB in container mode).
        builder.AddNpgsqlDataSource("poolsdb");
        builder.AddPostgresSchema("poolsdb", typeof(Extensions).Assembly);
        builder.AddRedisClient("redis", settings => settings.DisableHealthChecks = true);
        builder.AddRedisFallbackHealthCheck();
        builder.AddDocumentStore(defaultDatabase: "streambets_pools");
        // The document store's health is what the replica can do with it: Degraded without a usable configuration.
        builder.Services.AddHealthChecks().AddCheck<PoolsSettingsHealthCheck>(PoolsSettingsHealthCheck.Name);

        // Events: every transition goes to the outbox with its state change; BetsPlaced feeds the live totals, BetsSettled the
        // leaderboards, PoolSettled marks a finished pool paid out, Users' events name the leaderboards' players, and a
        // demoted streamer's channels are unlinked.
        builder.AddEventBus("poolsdb")
            .AddSubscription<BetsPlaced, BetsPlacedHandler>()
            .AddSubscription<BetsSettled, BetsSettledHandler>()
            .AddSubscription<PoolSettled, PoolSettledHandler>()
            .AddSubscription<UserRegistered, PlayerNamesHandler>()
            .AddSubscription<UserProfileChanged, PlayerNamesHandler>()
            .AddSubscription<UserRoleChanged, DemotedStreamerChannelsHandler>();

        var services = builder.Services;
        services.AddSingleton<PoolsSettingsProvider>();
        services.AddSingleton<AdminChanges>();
        services.AddSingleton<ChannelOwners>();
        services.AddSingleton<PoolStore>();
        services.AddSingleton<PoolCommands>();
        services.AddSingleton<PoolStakes>();
        services.AddSingleton<PoolChannels>();
        services.AddSingleton<Leaderboards.Leaderboards>();
        services.AddHostedService<PoolSweeper>();
        services.AddSingleton<OverduePoolsGauges>();
        services.AddHostedService(sp => sp.GetRequiredService<OverduePoolsGauges>());
        services.AddHostedService<LeaderboardWarmup>();
        services.AddHostedService<LeaderboardEntriesCleanup>();
        // One watch, which the warm-up follows.
        services.AddSingleton<RedisRestartWatch>();
        services.AddHostedService(sp => sp.GetRequiredService<RedisRestartWatch>());
    }
}
