using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;
using StreamBets.Realtime.Live;

namespace StreamBets.Realtime.IntegrationEvents.EventHandling;

/// <summary>A player's own news (a settled bet, a wallet movement) goes to their user group only.</summary>
public sealed class UserNotificationHandler(LivePublisher publisher) : IIntegrationEventHandler<BetsSettled>, IIntegrationEventHandler<WalletChanged>
{
    /// <summary>One message per bet to its player; the bet id de-duplicates, since a bet settles once.</summary>
    public async Task HandleAsync(BetsSettled @event, IntegrationEventContext context, CancellationToken cancellationToken)
    {
        foreach (var bet in @event.Bets)
        {
            await publisher.PublishAsync(LiveStream.User(bet.UserId),
                new BetSettledMessage(bet.BetId, @event.PoolId, bet.Result, bet.StakeMinor, bet.PayoutMinor, @event.SettledAt),
                bet.BetId, cancellationToken);
        }
    }

    public Task HandleAsync(WalletChanged @event, IntegrationEventContext context, CancellationToken cancellationToken) =>
        publisher.PublishAsync(LiveStream.User(@event.UserId),
            new WalletChangedMessage(@event.BalanceMinor, @event.DeltaMinor, @event.Reason, @event.OccurredAt, @event.TransferId),
            context.EventId, cancellationToken);
}
