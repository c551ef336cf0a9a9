using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;
using StreamBets.Realtime.Chat;
using StreamBets.Realtime.Live;
using StreamBets.Realtime.Pools;

namespace StreamBets.Realtime.IntegrationEvents.EventHandling;

/// <summary>
/// A pool's lifecycle: PoolCreated goes to its channel (and records the pool's channel, and lets the channel's owner claim
/// its chat, see <see cref="ChatRoom.ClaimChannelAsync"/>);
/// every state change, and the settlement that ends a pool, goes to the pool's group and to its channel's group, each
/// numbered on its own stream.
/// The bus has no inbox here (Realtime has no database): a redelivered event is recognised by its id in Redis for
/// minutes, and after that by how far the pool has come (<see cref="Stage"/>), for as long as the bus may redeliver.
/// </summary>
public sealed partial class PoolLifecycleHandler(PoolChannels pools, ChatRoom chat, LivePublisher publisher, ILogger<PoolLifecycleHandler> logger)
    : IIntegrationEventHandler<PoolCreated>,
      IIntegrationEventHandler<PoolOpened>,
      IIntegrationEventHandler<PoolLocked>,
      IIntegrationEventHandler<PoolResolved>,
      IIntegrationEventHandler<PoolCancelled>,
      IIntegrationEventHandler<PoolSettled>
{
    public async Task HandleAsync(PoolCreated @event, IntegrationEventContext context, CancellationToken cancellationToken)
    {
        if (ChannelNames.TryNormalise(@event.ChannelId) is not { } channel)
        {
            LogNoChannel(logger, @event.PoolId, @event.ChannelId);
            return;
        }
        await pools.RecordAsync(@event.PoolId, channel);
        // The channel's owner, not the pool's creator: an admin opens pools on any channel and moderates every chat by
        // rank, so an admin's pool must not make the admin the streamer. A pool on an unlinked channel claims nothing.
        if (@event.ChannelOwnerId is { } owner)
        {
            await chat.ClaimChannelAsync(channel, owner);
        }
        await publisher.PublishAsync(LiveStream.Channel(channel),
            new PoolCreatedMessage(@event.PoolId, channel, @event.Title, @event.StreamerId, @event.Outcomes, @event.CreatedAt),
            context.EventId, cancellationToken, Stage(@event.PoolId, 1));
    }

    public Task HandleAsync(PoolOpened @event, IntegrationEventContext context, CancellationToken cancellationToken) =>
        PublishAsync(@event.PoolId, new PoolStateChangedMessage(@event.PoolId, "open", [], @event.OpenedAt, LocksAt: @event.LocksAt),
            Stage(@event.PoolId, 2), context, cancellationToken);

    public Task HandleAsync(PoolLocked @event, IntegrationEventContext context, CancellationToken cancellationToken) =>
        PublishAsync(@event.PoolId, new PoolStateChangedMessage(@event.PoolId, "locked", [], @event.LockedAt), Stage(@event.PoolId, 3), context, cancellationToken);

    public Task HandleAsync(PoolResolved @event, IntegrationEventContext context, CancellationToken cancellationToken) =>
        PublishAsync(@event.PoolId, new PoolStateChangedMessage(@event.PoolId, "resolved", @event.WinningOutcomeIds, @event.ResolvedAt),
            Stage(@event.PoolId, 4), context, cancellationToken);

    public Task HandleAsync(PoolCancelled @event, IntegrationEventContext context, CancellationToken cancellationToken) =>
        PublishAsync(@event.PoolId, new PoolStateChangedMessage(@event.PoolId, "cancelled", [], @event.CancelledAt, Reason: @event.Reason),
            Stage(@event.PoolId, 4), context, cancellationToken);

    /// <summary>Settlement comes from another topic, in no order with the pool's states, so it is an entity of its own that happens once.</summary>
    public Task HandleAsync(PoolSettled @event, IntegrationEventContext context, CancellationToken cancellationToken) =>
        PublishAsync(@event.PoolId, new PoolSettledMessage(@event.PoolId, @event.SettledAt), new EntityVersion($"settled:{@event.PoolId}", 1), context, cancellationToken);

    /// <summary>
    /// A pool only moves forward: created (1), open (2), locked (3), then resolved or cancelled (4). Each stream refuses
    /// a pool event at or before the stage it pushed, so a redelivery after its id is forgotten cannot reopen a locked pool.
    /// </summary>
    private static EntityVersion Stage(Guid poolId, int stage) => new($"pool:{poolId}", stage);

    private async Task PublishAsync(Guid poolId, LiveMessage message, EntityVersion version, IntegrationEventContext context, CancellationToken cancellationToken)
    {
        var channel = await pools.ChannelOfAsync(poolId);
        var toPool = publisher.PublishAsync(LiveStream.Pool(poolId), message, context.EventId, cancellationToken, version);
        if (channel is not null)
        {
            await publisher.PublishAsync(LiveStream.Channel(channel), message, context.EventId, cancellationToken, version);
        }
        await toPool;
    }

    [LoggerMessage(EventId = 30, EventName = "PoolWithoutChannel", Level = LogLevel.Warning, Message = "Pool {PoolId} was created on '{Channel}', which is not a channel; its events go to the pool's watchers only")]
    private static partial void LogNoChannel(ILogger logger, Guid poolId, string? channel);
}
