using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace StreamBets.Users.Auth;

/// <summary>
/// Writes revoked session ids to Redis and announces them there, so that <see cref="SessionRevocation"/> in every
/// service rejects the session's access tokens. A key lives as long as an access token of that session can still be
/// valid; services that start later read the keys.
/// </summary>
public sealed partial class SessionRevocationList(
    IConnectionMultiplexer redis,
    SessionRevocation revocation,
    IOptions<AuthOptions> options,
    ILogger<SessionRevocationList> logger)
{
    /// <summary>Covers the token lifetime plus the validators' clock skew.</summary>
    private TimeSpan KeyLifetime => options.Value.AccessTokenLifetime + TimeSpan.FromMinutes(1);

    public async Task RevokeAsync(Guid sessionId)
    {
        revocation.Remember(sessionId.ToString(), KeyLifetime);
        try
        {
            var db = redis.GetDatabase();
            await db.StringSetAsync(SessionRevocation.Key(sessionId.ToString()), "1", KeyLifetime);
            await db.PublishAsync(SessionRevocation.Channel, SessionRevocation.Announcement(sessionId, KeyLifetime));
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // The session is already revoked in PostgreSQL, so it cannot be refreshed; only its
            // current access token stays usable elsewhere until it expires.
            LogRevocationNotPublished(logger, e, sessionId);
        }
    }

    [LoggerMessage(EventId = 100, EventName = "RevocationNotPublished", Level = LogLevel.Error,
        Message = "Could not publish the revocation of session {SessionId} to Redis")]
    private static partial void LogRevocationNotPublished(ILogger logger, Exception exception, Guid sessionId);
}
