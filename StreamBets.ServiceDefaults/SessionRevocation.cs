using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Logged-out sessions, shared through Redis. The Users service writes one key per revoked session id (<c>sid</c>
/// claim) that lives as long as an access token can, and announces it on <see cref="Channel"/>. Every service that
/// validates JWTs keeps the revoked ids in memory: loaded from the keys at start and after a reconnect, then followed
/// on the channel. So a request costs no Redis round trip, and a Redis outage neither logs players out nor forgets
/// the revocations already seen.
/// </summary>
public sealed partial class SessionRevocation(IServiceProvider services, TimeProvider time, ILogger<SessionRevocation> logger) : IHostedService, IDisposable
{
    private const string KeyPrefix = "auth:revoked-session:";

    public static readonly RedisChannel Channel = RedisChannel.Literal("auth:revoked-sessions");

    /// <summary>Session id to the time its last access token expires.</summary>
    private readonly ConcurrentDictionary<string, DateTimeOffset> _revoked = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _following = new(1, 1);
    private IConnectionMultiplexer? _redis;
    private bool _subscribed;
    private ITimer? _purge;

    public static RedisKey Key(string sessionId) => KeyPrefix + sessionId;

    /// <summary>The channel message: the session id and how long its tokens can live, in milliseconds.</summary>
    public static RedisValue Announcement(Guid sessionId, TimeSpan lifetime) =>
        $"{sessionId} {(long)lifetime.TotalMilliseconds}";

    public bool IsRevoked(string sessionId) =>
        _revoked.TryGetValue(sessionId, out var until) && until > time.GetUtcNow();

    /// <summary>Raised once per session id when this process learns it is revoked, for connections that outlive a
    /// request (SignalR) to end themselves. Handlers run on Redis's callback thread: keep them short.</summary>
    public event Action<string>? SessionRevoked;

    /// <summary>Takes effect in this process at once; the revoking service does not wait for its own announcement.</summary>
    public void Remember(string sessionId, TimeSpan lifetime)
    {
        if (_revoked.TryAdd(sessionId, time.GetUtcNow() + lifetime))
        {
            SessionRevoked?.Invoke(sessionId);
            return;
        }
        _revoked.AddOrUpdate(sessionId, time.GetUtcNow() + lifetime, (_, until) => Max(until, time.GetUtcNow() + lifetime));
    }

    /// <summary>The JwtBearer <c>OnTokenValidated</c> hook.</summary>
    public static Task RejectRevokedSessionAsync(TokenValidatedContext context)
    {
        var sessionId = context.Principal?.FindFirst(AuthenticationDefaults.Claims.SessionId)?.Value;
        if (sessionId is not null && context.HttpContext.RequestServices.GetRequiredService<SessionRevocation>().IsRevoked(sessionId))
        {
            context.Fail("The session was revoked.");
        }
        return Task.CompletedTask;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // A service without Redis has nobody to hear revocations from.
        _redis = services.GetService<IConnectionMultiplexer>();
        if (_redis is null)
        {
            return;
        }

        _purge = time.CreateTimer(_ => Purge(), null, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
        // Keys written while this process was cut off from Redis were announced to nobody here.
        _redis.ConnectionRestored += OnConnectionRestored;
        // Awaited, so the service answers no request before it knows the sessions already revoked.
        await FollowAsync();
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        if (_redis is not null)
        {
            _redis.ConnectionRestored -= OnConnectionRestored;
        }
        return Task.CompletedTask;
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e) => _ = FollowAsync();

    public void Dispose()
    {
        _purge?.Dispose();
        _following.Dispose();
    }

    /// <summary>Subscribes first and then reads the keys, so a revocation in between is seen one way or the other.</summary>
    private async Task FollowAsync()
    {
        await _following.WaitAsync();
        try
        {
            if (!_subscribed)
            {
                await _redis!.GetSubscriber().SubscribeAsync(Channel, (_, message) => OnAnnouncement(message));
                _subscribed = true;
            }

            foreach (var server in _redis!.GetServers().Where(s => s.IsConnected && !s.IsReplica))
            {
                var keys = new List<RedisKey>();
                await foreach (var key in server.KeysAsync(pattern: KeyPrefix + "*", pageSize: 1000))
                {
                    keys.Add(key);
                }
                var db = _redis.GetDatabase();
                var lifetimes = await Task.WhenAll(keys.Select(key => db.KeyTimeToLiveAsync(key)));
                for (var i = 0; i < keys.Count; i++)
                {
                    if (lifetimes[i] is { } lifetime)
                    {
                        Remember(keys[i].ToString()[KeyPrefix.Length..], lifetime);
                    }
                }
            }
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // Fail open, as tokens are checked everywhere else: a Redis outage must not log every player out. The
            // next reconnect reads the keys again, and refresh tokens are checked against the database, not Redis.
            LogFollowFailed(logger, e);
        }
        finally
        {
            _following.Release();
        }
    }

    private void OnAnnouncement(RedisValue message)
    {
        var text = message.ToString();
        var space = text.IndexOf(' ', StringComparison.Ordinal);
        if (space > 0 && long.TryParse(text.AsSpan(space + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var milliseconds))
        {
            Remember(text[..space], TimeSpan.FromMilliseconds(milliseconds));
        }
    }

    private void Purge()
    {
        var now = time.GetUtcNow();
        foreach (var (sessionId, until) in _revoked)
        {
            if (until <= now)
            {
                _revoked.TryRemove(new KeyValuePair<string, DateTimeOffset>(sessionId, until));
            }
        }
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    [LoggerMessage(EventId = 1, EventName = "RevocationFollowFailed", Level = LogLevel.Warning,
        Message = "Could not read revoked sessions from Redis; tokens of sessions revoked meanwhile are accepted until Redis is back")]
    private static partial void LogFollowFailed(ILogger logger, Exception exception);
}
