using Microsoft.Extensions.Options;
using StackExchange.Redis;
using StreamBets.Realtime.Live;

namespace StreamBets.Realtime.Pools;

/// <summary>
/// Which channel a pool runs on, learnt from PoolCreated (the only pool event that names it) and kept in Redis, so the
/// replica that handles a later PoolLocked knows the channel group even if another replica saw the PoolCreated.
/// </summary>
public sealed class PoolChannels(IConnectionMultiplexer redis, RealtimeKeys keys, IOptions<RealtimeOptions> options)
{
    private TimeSpan Retention => options.Value.PoolChannelRetention;

    public Task RecordAsync(Guid poolId, string channel) => redis.GetDatabase().StringSetAsync(keys.PoolChannel(poolId), channel, Retention);

    /// <summary>The pool's channel, or null when its PoolCreated was never seen (or long ago); each lookup keeps the mapping for another retention period.</summary>
    public async Task<string?> ChannelOfAsync(Guid poolId) => await redis.GetDatabase().StringGetSetExpiryAsync(keys.PoolChannel(poolId), Retention);
}
