using StackExchange.Redis;

namespace StreamBets.BetEngine.Eligibility;

/// <summary>
/// Makes every Bet Engine replica forget a player's cached eligibility when it changes (a self-exclusion, a KYC change).
/// The bus hands each event to one replica; that one forgets at once and tells the others on a Redis channel. Best
/// effort: a replica that misses the message (Redis down, a reconnect) serves what it remembers for at most the
/// cache's time, as before.
/// </summary>
public sealed partial class EligibilityChanges(EligibilityCache eligibility, IConnectionMultiplexer redis, ILogger<EligibilityChanges> logger)
    : IHostedService
{
    public static readonly RedisChannel Channel = RedisChannel.Literal("betengine:eligibility-changed");

    public async Task AnnounceAsync(Guid userId)
    {
        eligibility.Forget(userId); // this replica at once, whether or not Redis answers
        try
        {
            await redis.GetSubscriber().PublishAsync(Channel, userId.ToString("N"));
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            LogAnnounceFailed(logger, e, userId);
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            // The client subscribes again by itself after a reconnect.
            await redis.GetSubscriber().SubscribeAsync(Channel, (_, message) =>
            {
                if (Guid.TryParseExact(message.ToString(), "N", out var userId))
                {
                    eligibility.Forget(userId);
                }
            });
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            LogFollowFailed(logger, e);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 4101, EventName = "EligibilityChangeNotAnnounced", Level = LogLevel.Warning,
        Message = "Could not tell the other Bet Engine replicas that {UserId}'s eligibility changed; they forget it within the eligibility cache time")]
    private static partial void LogAnnounceFailed(ILogger logger, Exception exception, Guid userId);

    [LoggerMessage(EventId = 4102, EventName = "EligibilityChangesNotFollowed", Level = LogLevel.Warning,
        Message = "Could not follow eligibility changes on Redis; this replica forgets a changed player only when it receives the event itself, or within the eligibility cache time")]
    private static partial void LogFollowFailed(ILogger logger, Exception exception);
}
