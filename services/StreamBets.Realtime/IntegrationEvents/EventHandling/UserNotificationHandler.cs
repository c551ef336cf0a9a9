using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;
using StreamBets.Realtime.Live;

namespace StreamBets.Realtime.IntegrationEvents.EventHandling;

/// <summary>A player's own news (a settled bet, a wallet movement) goes to their user group only.</summary>
public sealed class UserNotificationHandler(LivePublisher publisher) : IIntegrationEventHandler<BetsSettled>, IIntegrationEventHandler<WalletChanged>
{
    /// <summary>
    /// One message per bet to its player, all at once (each player's stream is numbered under its own lock, and Redis
    /// pipelines the appends): one after another, a 1,000-bet event took 1,000 round trips. The bet id de-duplicates a
    /// redelivery, since a bet settles once.
    /// </summary>
    public Task HandleAsync(BetsSettled @event, IntegrationEventContext context, CancellationToken cancellationToken) =>
        Task.WhenAll(@event.Bets.Select(bet => publisher.PublishAsync(LiveStream.User(bet.UserId),
            new BetSettledMessage(bet.BetId, @event.PoolId, bet.Result, bet.StakeMinor, bet.PayoutMinor, @event.SettledAt),
            bet.BetId, cancellationToken)));

    public Task HandleAsync(WalletChanged @event, IntegrationEventContext context, CancellationToken cancellationToken) =>
        publisher.PublishAsync(LiveStream.User(@event.UserId),
            new WalletChangedMessage(@event.BalanceMinor, @event.DeltaMinor, @event.Reason, @event.OccurredAt, @event.TransferId),
            context.EventId, cancellationToken);
}
