using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.StackExchangeRedis;
using StackExchange.Redis;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;
using StreamBets.Realtime.Chat;
using StreamBets.Realtime.Hubs;
using StreamBets.Realtime.IntegrationEvents.EventHandling;
using StreamBets.Realtime.Live;
using StreamBets.Realtime.Odds;
using StreamBets.Realtime.Pools;

namespace StreamBets.Realtime.Extensions;

internal static class Extensions
{
    /// <summary>Everything the Realtime service registers: the hub scaled out over the Redis backplane, its Redis state, and its event subscriptions.</summary>
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        var options = new RealtimeOptions();
        builder.Configuration.GetSection(RealtimeOptions.SectionName).Bind(options);
        builder.Services.Configure<RealtimeOptions>(builder.Configuration.GetSection(RealtimeOptions.SectionName));

        builder.AddDefaultAuthentication();
        builder.AddRedisClient("redis");
        builder.Services.AddSingleton<IUserIdProvider, SubjectUserIdProvider>();
        builder.Logging.AddFilter(RefusalsAsHubExceptions.DispatcherLogCategory, LogLevel.None); // the filter logs instead
        builder.Services.AddSignalR(hub => hub.AddFilter<RefusalsAsHubExceptions>())
            .AddStackExchangeRedis(
                builder.Configuration.GetConnectionString("redis") ?? throw new InvalidOperationException("ConnectionStrings:redis is not configured."),
                redis =>
                {
                    redis.Configuration.ChannelPrefix = RedisChannel.Literal(options.KeyPrefix);
                    redis.Configuration.AbortOnConnectFail = false;
                });
        builder.Services.AddSingleton<BackplaneResync>();
        // The backplane's own connection, watched so that a replica cut off from pub/sub has its clients catch up.
        builder.Services.AddOptions<RedisOptions>().Configure<BackplaneResync>((backplane, resync) =>
            backplane.ConnectionFactory = log => resync.ConnectAsync(backplane.Configuration, log));

        builder.Services.AddSingleton<RealtimeKeys>();
        builder.Services.AddSingleton<LiveStreamStore>();
        // Counters that went back with an older copy of Redis would hand out numbers clients already applied.
        builder.Services.AddHostedService<LiveSequenceJump>();
        builder.Services.AddSingleton<LivePublisher>();
        builder.Services.AddSingleton<OddsCoalescer>();
        // Hosted to push the odds it still holds at shutdown; registered before the bus, so it stops after the consumer.
        builder.Services.AddHostedService(services => services.GetRequiredService<OddsCoalescer>());
        builder.Services.AddSingleton<PoolChannels>();
        builder.Services.AddSingleton<ChatRoom>();
        builder.Services.AddSingleton<SessionConnections>();
        builder.Services.AddSingleton<HubCallers>();

        // No database, so no inbox: handlers recognise redeliveries themselves (event ids remembered in Redis).
        builder.AddEventBus(connectionName: null)
            .AddSubscription<OddsChanged, OddsChangedHandler>()
            .AddSubscription<PoolCreated, PoolLifecycleHandler>()
            .AddSubscription<PoolOpened, PoolLifecycleHandler>()
            .AddSubscription<PoolLocked, PoolLifecycleHandler>()
            .AddSubscription<PoolResolved, PoolLifecycleHandler>()
            .AddSubscription<PoolCancelled, PoolLifecycleHandler>()
            .AddSubscription<PoolSettled, PoolLifecycleHandler>()
            .AddSubscription<BetsSettled, UserNotificationHandler>()
            .AddSubscription<WalletsChanged, UserNotificationHandler>()
            .AddSubscription<StreamWentLive, StreamWentLiveHandler>()
            .AddSubscription<ChannelOwnerChanged, ChannelOwnerChangedHandler>();
    }

    public const string LiveHubPath = "/hubs/live";

    /// <summary>
    /// Maps the hub; a connection ends when its token expires, so a revoked or downgraded user cannot linger, and a
    /// request presenting a token that is no longer valid is refused rather than let in anonymous (<see cref="RejectedTokens"/>),
    /// and a caller's connections beyond its cap are refused (<see cref="ConnectionCaps"/>), and one that stops reading is dropped quickly.
    /// Call it after UseAuthentication.
    /// </summary>
    public static void MapLiveHub(this WebApplication app)
    {
        app.UseRejectedTokenRefusal(LiveHubPath);
        app.UseConnectionCaps(LiveHubPath);
        app.MapHub<LiveHub>(LiveHubPath, hub =>
        {
            hub.CloseOnAuthenticationExpiration = true;
            // The backplane hands a group's messages to this replica's members one at a time, awaiting every member's
            // write: a client that stops reading (socket and 64 KB pipes full) holds up its groups until it is dropped,
            // after 2-3 s (1 s heartbeat) rather than the default 10 s. A client that reads, however slowly, is not stuck
            // that long; one that is reconnects and catches up.
            hub.TransportSendTimeout = TimeSpan.FromSeconds(2);
        });
    }
}

/// <summary>SignalR's user id is the validated <c>sub</c> claim, as everywhere else.</summary>
internal sealed class SubjectUserIdProvider : IUserIdProvider
{
    public string? GetUserId(HubConnectionContext connection) => connection.User.FindFirst(AuthenticationDefaults.Claims.UserId)?.Value;
}
