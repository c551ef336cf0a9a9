using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;
using StreamBets.Realtime.Live;

namespace StreamBets.Realtime.IntegrationEvents.EventHandling;

/// <summary>A player's own news (a settled bet, a wallet movement) goes to their user group only.</summary>
public sealed class UserNotificationHandler(LivePublisher publisher) : IIntegrationEventHandler<BetsSettled>, IIntegrationEventHandler<WalletsChanged>
{
    /// <summary>
    /// One message per bet to its player, all at once (each player's stream is numbered under its own lock, and Redis
    /// pipelines the appends): one after another, a 1,000-bet event took 1,000 round trips. The bet id de-duplicates a
    /// redelivery, since a bet settles once; so does the bet's version, after the id is forgotten (a second "You won"
    /// days later would be news to the player).
    /// </summary>
    public Task HandleAsync(BetsSettled @event, IntegrationEventContext context, CancellationToken cancellationToken) =>
        Task.WhenAll(@event.Bets.Select(bet => publisher.PublishAsync(LiveStream.User(bet.UserId),
            new BetSettledMessage(bet.BetId, @event.PoolId, bet.Result, bet.StakeMinor, bet.PayoutMinor, @event.SettledAt),
            bet.BetId, cancellationToken, new EntityVersion($"bet:{bet.BetId}", 1))));

    /// <summary>
    /// One message per change to its user, users at once but each user's changes in ledger order, so the last balance a
    /// player sees is the latest. The transfer id de-duplicates a redelivery: a transfer changes a wallet once.
    /// </summary>
    public Task HandleAsync(WalletsChanged @event, IntegrationEventContext context, CancellationToken cancellationToken) =>
        Task.WhenAll(@event.Changes.GroupBy(change => change.UserId).Select(async changes =>
        {
            foreach (var change in changes)
            {
                await publisher.PublishAsync(LiveStream.User(change.UserId),
                    new WalletChangedMessage(change.BalanceMinor, change.DeltaMinor, change.Reason, @event.OccurredAt, change.TransferId),
                    change.TransferId, cancellationToken);
            }
        }));
}
