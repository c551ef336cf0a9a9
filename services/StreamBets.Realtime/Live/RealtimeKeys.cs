using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace StreamBets.Realtime.Live;

/// <summary>
/// Every Redis key the service uses. A stream's keys (and a channel's chat keys) share the hash tag of the stream's group,
/// "{pool:...}" or "{channel:...}", so they live in one Redis Cluster slot and one script may touch them all.
/// </summary>
public sealed class RealtimeKeys(IOptions<RealtimeOptions> options)
{
    private string Prefix => options.Value.KeyPrefix;

    public RedisKey Sequence(LiveStream stream) => $"{Prefix}:{{{stream.Group}}}:seq";

    /// <summary>Every stream's <see cref="Sequence"/> key, for SCAN.</summary>
    public string SequencePattern => $"{Prefix}:{{*}}:seq";

    /// <summary>The run id of the Redis server whose counters were last checked (<see cref="LiveSequenceJump"/>).</summary>
    public RedisKey CheckedRedisRun => $"{Prefix}:redis-run-id";

    public RedisKey Replay(LiveStream stream) => $"{Prefix}:{{{stream.Group}}}:replay";

    /// <summary>The sequence an event got on a stream and whether its push went out; <c>null</c> names a key that scripts never touch.</summary>
    public RedisKey Seen(LiveStream stream, Guid? eventId) => $"{Prefix}:{{{stream.Group}}}:seen:{eventId?.ToString() ?? "-"}";

    /// <summary>The furthest version of an entity pushed on a stream; <c>null</c> names a key that scripts never touch.</summary>
    public RedisKey Version(LiveStream stream, string? entity) => $"{Prefix}:{{{stream.Group}}}:version:{entity ?? "-"}";

    /// <summary>The total staked of the last odds numbered on a pool's stream.</summary>
    public RedisKey PushedOddsTotal(LiveStream stream) => $"{Prefix}:{{{stream.Group}}}:odds-total";

    /// <summary>The last odds numbered on a pool's stream whose push is not known to have gone out: "{seq}:{total}".</summary>
    public RedisKey PendingOdds(LiveStream stream) => $"{Prefix}:{{{stream.Group}}}:odds-pending";

    public RedisKey ChatHistory(string channel) => Chat(channel, "chat");

    public RedisKey Banned(string channel) => Chat(channel, "banned");

    public RedisKey Muted(string channel, Guid userId) => Chat(channel, $"muted:{userId}");

    public RedisKey Moderators(string channel) => Chat(channel, "moderators");

    public RedisKey Streamer(string channel) => Chat(channel, "streamer");

    /// <summary>The version of the last channel link change from Pools applied to the streamer; absent until Pools names an owner.</summary>
    public RedisKey StreamerOwnerVersion(string channel) => Chat(channel, "streamer-owner-version");

    public RedisKey ChatRate(string channel, Guid userId) => Chat(channel, $"rate:{userId}");

    /// <summary>A send's stored message ("seq ChatMessage json") under the id its client gave it, so a retry gets it back.</summary>
    public RedisKey ChatSent(string channel, Guid userId, Guid? clientMessageId) => Chat(channel, $"sent:{userId}:{clientMessageId?.ToString() ?? "-"}");

    /// <summary>Set once the message stored under <see cref="ChatSent"/> went out to the channel.</summary>
    public RedisKey ChatSentPushed(string channel, Guid userId, Guid? clientMessageId) => ChatSent(channel, userId, clientMessageId).Append(":pushed");

    /// <summary>The users who chatted in the channel with an admin token lately, so a moderator cannot delete an admin's messages.</summary>
    public RedisKey AdminAuthors(string channel) => Chat(channel, "admin-authors");

    /// <summary>The channels a user chatted in lately (channel → time of the last send), under the user's own hash tag.</summary>
    public RedisKey ChatChannels(Guid userId) => $"{Prefix}:{{{LiveStream.User(userId).Group}}}:chat-channels";

    public RedisKey PoolChannel(Guid poolId) => $"{Prefix}:pool-channel:{poolId}";

    private RedisKey Chat(string channel, string what) => $"{Prefix}:{{{LiveStream.Channel(channel).Group}}}:{what}";
}
