using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using StreamBets.Realtime.Live;

namespace StreamBets.Realtime.Hubs;

/// <summary>
/// Tells this replica's own clients to catch up once its backplane connection to Redis is back. Pub/sub reaches only
/// whoever is subscribed at that moment, so a replica cut off from it misses pushes for good, and its clients' WebSockets
/// never dropped. A client notices a missed message by the gap before the next one, but the last message of a stream
/// (a pool's result and settlement, a player's payout) has no next one: on <see cref="ClientMethod"/> a client calls
/// CatchUp after the highest sequence of every stream it follows (docs/realtime.md, "Sequences and catching up"). Also
/// sent when Redis turns out to be a new server (<see cref="ResyncAfterRedisRestartAsync"/>).
/// </summary>
public sealed partial class BackplaneResync(IServiceProvider services, IOptions<RealtimeOptions> options, TimeProvider time, ILogger<BackplaneResync> logger)
{
    public const string ClientMethod = "Resync";

    // Connections told at once; the rounds' pauses spread the rest over Realtime:ResyncSpread.
    private const int SliceSize = 100;

    // Only this replica's connections: the backplane writes to a local connection directly, so a blip is not announced
    // to the whole audience through Redis.
    private readonly ConcurrentDictionary<string, byte> _connections = new(StringComparer.Ordinal);

    // Looked up when sending, not injected: the hub context needs the backplane, which is built with this class's factory.
    private IHubContext<LiveHub> Hub => services.GetRequiredService<IHubContext<LiveHub>>();

    public void Connected(string connectionId) => _connections.TryAdd(connectionId, 0);

    public void Disconnected(string connectionId) => _connections.TryRemove(connectionId, out _);

    /// <summary>The backplane's connection factory: connects as SignalR would, and watches the connection it returns.</summary>
    public async Task<IConnectionMultiplexer> ConnectAsync(ConfigurationOptions configuration, TextWriter log)
    {
        var backplane = await ConnectionMultiplexer.ConnectAsync(configuration, log);
        backplane.ConnectionRestored += (_, restored) =>
        {
            if (CarriesSubscriptions(backplane, restored))
            {
                _ = ResyncAsync(backplane);
            }
        };
        return backplane;
    }

    /// <summary>The pub/sub connection (RESP2), or the one connection that also carries pub/sub (RESP3).</summary>
    private static bool CarriesSubscriptions(ConnectionMultiplexer backplane, ConnectionFailedEventArgs restored) =>
        restored.ConnectionType == ConnectionType.Subscription
        || (restored.ConnectionType == ConnectionType.Interactive && backplane.GetServer(restored.EndPoint).Protocol >= RedisProtocol.Resp3);

    private async Task ResyncAsync(ConnectionMultiplexer backplane)
    {
        try
        {
            // The multiplexer queued its re-subscriptions on the connection before raising the event, and Redis answers a
            // connection's commands in order: once this ping is answered, pushes reach this replica again, so a client's
            // CatchUp cannot run before the pushes it would miss.
            await backplane.GetSubscriber().PingAsync();
            LogResync(logger, _connections.Count);
            await TellConnectionsAsync();
        }
        catch (Exception e)
        {
            // Lost again meanwhile: the next restore starts another round.
            LogResyncFailed(logger, e);
        }
    }

    /// <summary>
    /// Tells this replica's connections to catch up because Redis came back with older counters and replays, which
    /// <see cref="LiveSequenceJump"/> moved past anything handed out: a client's CatchUp then answers catch-up-gap and it
    /// reloads, even on a stream whose next message never comes. Not awaited by the caller: it takes ResyncSpread.
    /// </summary>
    public async Task ResyncAfterRedisRestartAsync()
    {
        try
        {
            LogResyncAfterRestart(logger, _connections.Count);
            await TellConnectionsAsync();
        }
        catch (Exception e)
        {
            // The clients notice at their streams' next message instead (its number shows the gap).
            LogResyncFailed(logger, e);
        }
    }

    private async Task TellConnectionsAsync()
    {
        var slices = _connections.Keys.Chunk(SliceSize).ToArray();
        var pause = options.Value.ResyncSpread / Math.Max(1, slices.Length);
        var told = new List<Task>(slices.Length);
        try
        {
            for (var i = 0; i < slices.Length; i++)
            {
                if (i > 0)
                {
                    await Task.Delay(pause, time);
                }
                // Awaited only at the end: a client that stopped reading holds its write until the transport drops it
                // (TransportSendTimeout), and the slices after it must not wait for that.
                told.Add(Task.WhenAll(slices[i].Select(connectionId => Hub.Clients.Client(connectionId).SendAsync(ClientMethod))));
            }
        }
        finally
        {
            // Even when the round stops part-way, the slices already told are awaited, so their failures are seen.
            await Task.WhenAll(told);
        }
    }

    [LoggerMessage(EventId = 40, EventName = "BackplaneRestored", Level = LogLevel.Warning,
        Message = "The backplane's Redis pub/sub connection is back; telling this replica's {Connections} connections to catch up")]
    private static partial void LogResync(ILogger logger, int connections);

    [LoggerMessage(EventId = 41, EventName = "BackplaneResyncFailed", Level = LogLevel.Warning,
        Message = "Telling this replica's connections to catch up failed")]
    private static partial void LogResyncFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 42, EventName = "RedisRestartResync", Level = LogLevel.Warning,
        Message = "Redis is a new server; telling this replica's {Connections} connections to catch up")]
    private static partial void LogResyncAfterRestart(ILogger logger, int connections);
}
