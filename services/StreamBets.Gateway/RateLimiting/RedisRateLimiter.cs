using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace StreamBets.Gateway.RateLimiting;

/// <summary>
/// A fixed-window counter per client kept in Redis, so every gateway replica shares one budget.
/// One round trip per request: the script increments and sets the expiry atomically.
/// </summary>
public sealed class RedisRateLimiter(IConnectionMultiplexer redis, IOptions<RateLimitOptions> options)
{
    private static readonly LuaScript Script = LuaScript.Prepare(
        "local count = redis.call('INCR', @key) " +
        "if count == 1 then redis.call('PEXPIRE', @key, @windowMs) end " +
        "return { count, redis.call('PTTL', @key) }");

    public async Task<RateLimitDecision> AcquireAsync(string client, bool authenticated)
    {
        var settings = options.Value;
        var limit = authenticated ? settings.AuthenticatedPermitsPerWindow : settings.AnonymousPermitsPerWindow;
        var result = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(Script, new
        {
            key = (RedisKey)$"ratelimit:{client}",
            windowMs = settings.WindowSeconds * 1000,
        }))!;

        var count = (long)result[0];
        var ttlMs = Math.Max(1, (long)result[1]);
        return new RateLimitDecision(count <= limit, limit, TimeSpan.FromMilliseconds(ttlMs));
    }
}

public readonly record struct RateLimitDecision(bool Allowed, int Limit, TimeSpan RetryAfter);
