using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace StreamBets.Users.Auth;

/// <summary>
/// Writes revoked session ids to Redis, where <see cref="SessionRevocation"/> in every service
/// looks them up. A key lives as long as an access token of that session can still be valid.
/// </summary>
public sealed partial class SessionRevocationList(IConnectionMultiplexer redis, IOptions<AuthOptions> options, ILogger<SessionRevocationList> logger)
{
    /// <summary>Covers the token lifetime plus the validators' clock skew.</summary>
    private TimeSpan KeyLifetime => options.Value.AccessTokenLifetime + TimeSpan.FromMinutes(1);

    public async Task RevokeAsync(Guid sessionId)
    {
        try
        {
            await redis.GetDatabase().StringSetAsync(SessionRevocation.Key(sessionId.ToString()), "1", KeyLifetime);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // The session is already revoked in PostgreSQL, so it cannot be refreshed; only its
            // current access token stays usable until it expires.
            LogRevocationNotPublished(logger, e, sessionId);
        }
    }

    [LoggerMessage(EventId = 100, EventName = "RevocationNotPublished", Level = LogLevel.Error,
        Message = "Could not publish the revocation of session {SessionId} to Redis")]
    private static partial void LogRevocationNotPublished(ILogger logger, Exception exception, Guid sessionId);
}
