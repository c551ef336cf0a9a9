using StreamBets.Contracts.IntegrationEvents;

namespace StreamBets.Realtime.Tests;

/// <summary>Integration events as the publishing services write them.</summary>
public static class TestEvents
{
    public static string NewChannel() => $"twitch:rt-{Guid.NewGuid():N}";

    /// <summary>A streamer's pool: streamers open pools only on their own channels, so the channel's owner is the streamer.</summary>
    public static PoolCreated Created(Guid poolId, string channel, Guid streamerId) => Created(poolId, channel, streamerId, channelOwnerId: streamerId);

    /// <summary>A pool <paramref name="creatorId"/> opened (an admin's, say) on a channel linked to <paramref name="channelOwnerId"/>, or to nobody.</summary>
    public static PoolCreated Created(Guid poolId, string channel, Guid creatorId, Guid? channelOwnerId) =>
        new(poolId, creatorId, channel, "Will the streamer win?", [new PoolOutcome(Guid.NewGuid(), "Yes"), new PoolOutcome(Guid.NewGuid(), "No")], "manual",
            DateTimeOffset.UtcNow, channelOwnerId);

    /// <summary>Pools linked the channel to <paramref name="ownerId"/> (null: unlinked it); <paramref name="version"/> grows with each change of the channel.</summary>
    public static ChannelOwnerChanged OwnerChanged(string channel, Guid? ownerId, Guid? previousOwnerId, long version) =>
        new(channel, ownerId, previousOwnerId, version, DateTimeOffset.UtcNow);

    public static PoolOpened Opened(Guid poolId) => new(poolId, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddMinutes(5));

    public static PoolLocked Locked(Guid poolId) => new(poolId, 0, [], DateTimeOffset.UtcNow);

    public static PoolResolved Resolved(Guid poolId, Guid winner) => new(poolId, [winner], DateTimeOffset.UtcNow);

    public static PoolSettled PoolSettled(Guid poolId) => new(poolId, 4_000, 3_800, 200, 0, 1, 0, DateTimeOffset.UtcNow);

    /// <summary>A linked channel ("provider:id") went live, owned by <paramref name="streamerId"/>.</summary>
    public static StreamWentLive WentLive(string channel, Guid streamerId) =>
        new(channel[..channel.IndexOf(':')], channel[(channel.IndexOf(':') + 1)..], streamerId, "Live now", DateTimeOffset.UtcNow);

    public static OddsChanged Odds(Guid poolId, long total, DateTimeOffset? asOf = null) =>
        new(poolId, total, [new OutcomeStakes(Guid.Empty, total, (int)Math.Min(total, int.MaxValue))], asOf ?? DateTimeOffset.UtcNow);

    public static WalletsChanged Wallet(Guid userId, long balance) => new([new WalletChange(userId, Guid.NewGuid(), 100, balance, "payout", null)], DateTimeOffset.UtcNow);

    /// <summary>One BetsSettled with a winning bet (stake 500, payout 950) for each player, in order.</summary>
    public static BetsSettled Settled(Guid poolId, params Guid[] userIds) =>
        new(poolId, [.. userIds.Select(u => new SettledBetLine(Guid.NewGuid(), u, "won", 500, 950))], DateTimeOffset.UtcNow);
}
