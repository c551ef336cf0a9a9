using System.Text.Json.Serialization;

namespace StreamBets.Contracts.IntegrationEvents;

public sealed record PoolOutcome(Guid OutcomeId, string Label);

/// <summary>Stakes on one outcome; parimutuel odds follow from these and the pool total, so no float travels.</summary>
public sealed record OutcomeStakes(Guid OutcomeId, long StakedMinor, int BetCount);

/// <summary>A pool was created (not yet accepting bets). <paramref name="Source"/> is "manual" or a mirrored platform such as "twitch".</summary>
/// <param name="StreamerId">Who created the pool: the channel's streamer, or an admin.</param>
/// <param name="ChannelOwnerId">
/// The streamer the channel was linked to when the pool was created (read in the create's transaction), null when
/// nobody: the same as <paramref name="StreamerId"/> for a streamer's pool, since streamers open pools only on their own
/// channels; an admin's pool names the owner, not the admin. Absent (null) in events written before it existed.
/// </param>
[IntegrationEvent("streambets.pools.created.v1", IntegrationTopics.Pools)]
public sealed record PoolCreated(
    Guid PoolId, Guid StreamerId, string? ChannelId, string Title, IReadOnlyList<PoolOutcome> Outcomes, string Source, DateTimeOffset CreatedAt,
    Guid? ChannelOwnerId = null) : IIntegrationEvent
{
    [JsonIgnore] public string AggregateId => PoolId.ToString();
}

[IntegrationEvent("streambets.pools.opened.v1", IntegrationTopics.Pools)]
public sealed record PoolOpened(Guid PoolId, DateTimeOffset OpenedAt, DateTimeOffset LocksAt) : IIntegrationEvent
{
    [JsonIgnore] public string AggregateId => PoolId.ToString();
}

/// <summary>
/// No more bets. The totals are Pools' count of BetsPlaced at the lock: bets still on their way (accepted because they
/// arrived before <paramref name="LockedAt"/>) are not in them, so they are for display; settlement pays from the Bet
/// Engine's accepted bets.
/// </summary>
[IntegrationEvent("streambets.pools.locked.v1", IntegrationTopics.Pools)]
public sealed record PoolLocked(Guid PoolId, long TotalStakedMinor, IReadOnlyList<OutcomeStakes> Outcomes, DateTimeOffset LockedAt) : IIntegrationEvent
{
    [JsonIgnore] public string AggregateId => PoolId.ToString();
}

/// <summary>The pool has a result. More than one winning outcome is a dead heat.</summary>
[IntegrationEvent("streambets.pools.resolved.v1", IntegrationTopics.Pools)]
public sealed record PoolResolved(Guid PoolId, IReadOnlyList<Guid> WinningOutcomeIds, DateTimeOffset ResolvedAt) : IIntegrationEvent
{
    [JsonIgnore] public string AggregateId => PoolId.ToString();
}

/// <summary>The pool will not be resolved; every stake is refunded. Reason e.g. "streamer", "operator", "resolution-timeout".</summary>
[IntegrationEvent("streambets.pools.cancelled.v1", IntegrationTopics.Pools)]
public sealed record PoolCancelled(Guid PoolId, string Reason, DateTimeOffset CancelledAt) : IIntegrationEvent
{
    [JsonIgnore] public string AggregateId => PoolId.ToString();
}

/// <summary>
/// A channel ("twitch:streamer1") was linked to <paramref name="OwnerId"/>, or unlinked (<paramref name="OwnerId"/> null).
/// <paramref name="PreviousOwnerId"/> is who had it just before (null when nobody; the same as the owner when a link is
/// saved again). Keyed by channel, so one channel's changes arrive in the order they were committed;
/// <paramref name="Version"/> grows with each change of the channel, whatever the publishing replicas' clocks, so a
/// consumer can tell a late or redelivered older change from the newer one it already applied.
/// </summary>
[IntegrationEvent("streambets.pools.channel-owner-changed.v1", IntegrationTopics.Pools)]
public sealed record ChannelOwnerChanged(string Channel, Guid? OwnerId, Guid? PreviousOwnerId, long Version, DateTimeOffset ChangedAt) : IIntegrationEvent
{
    [JsonIgnore] public string AggregateId => Channel;
}
