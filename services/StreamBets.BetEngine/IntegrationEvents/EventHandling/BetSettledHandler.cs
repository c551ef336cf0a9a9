using StreamBets.BetEngine.Data;
using StreamBets.BetEngine.Placement;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;

namespace StreamBets.BetEngine.IntegrationEvents.EventHandling;

/// <summary>Records what settlement paid on a bet, so "my bets" can list it as settled.</summary>
public sealed class BetSettledHandler : IIntegrationEventHandler<BetSettled>
{
    public Task HandleAsync(BetSettled @event, IntegrationEventContext context, CancellationToken cancellationToken) =>
        BetStore.MarkSettledAsync(context.Transaction, @event.BetId, new BetSettlement(@event.Result, @event.PayoutMinor, @event.SettledAt), cancellationToken);
}
