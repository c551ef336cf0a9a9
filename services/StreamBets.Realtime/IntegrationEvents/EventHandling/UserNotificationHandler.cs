using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;
using StreamBets.Realtime.Live;

namespace StreamBets.Realtime.IntegrationEvents.EventHandling;

/// <summary>A player's own news (a settled bet, a wallet movement) goes to their user group only.</summary>
public sealed class UserNotificationHandler(LivePublisher publisher) : IIntegrationEventHandler<BetSettled>, IIntegrationEventHandler<WalletChanged>
{
    public Task HandleAsync(BetSettled @event, IntegrationEventContext context, CancellationToken cancellationToken) =>
        publisher.PublishAsync(LiveStream.User(@event.UserId),
            new BetSettledMessage(@event.BetId, @event.PoolId, @event.Result, @event.StakeMinor, @event.PayoutMinor, @event.SettledAt),
            context.EventId, cancellationToken);

    public Task HandleAsync(WalletChanged @event, IntegrationEventContext context, CancellationToken cancellationToken) =>
        publisher.PublishAsync(LiveStream.User(@event.UserId),
            new WalletChangedMessage(@event.BalanceMinor, @event.DeltaMinor, @event.Reason, @event.OccurredAt, @event.TransferId),
            context.EventId, cancellationToken);
}
