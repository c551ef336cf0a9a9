using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Logged-out sessions, shared through Redis. The Users service writes one key per revoked
/// session id (<c>sid</c> claim) that lives as long as an access token can; every service that
/// validates JWTs and has a Redis connection rejects tokens of a revoked session with one EXISTS.
/// </summary>
public static partial class SessionRevocation
{
    public static RedisKey Key(string sessionId) => $"auth:revoked-session:{sessionId}";

    /// <summary>The JwtBearer <c>OnTokenValidated</c> hook; does nothing in a service without Redis.</summary>
    public static async Task RejectRevokedSessionAsync(TokenValidatedContext context)
    {
        var sessionId = context.Principal?.FindFirst(AuthenticationDefaults.Claims.SessionId)?.Value;
        var redis = context.HttpContext.RequestServices.GetService<IConnectionMultiplexer>();
        if (sessionId is null || redis is null)
        {
            return;
        }

        try
        {
            if (await redis.GetDatabase().KeyExistsAsync(Key(sessionId)))
            {
                context.Fail("The session was revoked.");
            }
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // Fail open: a Redis outage must not log every player out. The exposure is bounded by the
            // access token lifetime, and refresh tokens are checked against the database, not Redis.
            var logger = context.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(SessionRevocation));
            LogRevocationCheckFailed(logger, e);
        }
    }

    [LoggerMessage(EventId = 1, EventName = "RevocationCheckFailed", Level = LogLevel.Warning, Message = "Could not check session revocation in Redis; accepting the token")]
    private static partial void LogRevocationCheckFailed(ILogger logger, Exception exception);
}
