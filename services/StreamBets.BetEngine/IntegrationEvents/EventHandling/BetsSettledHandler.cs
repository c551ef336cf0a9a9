using StreamBets.BetEngine.Data;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;

namespace StreamBets.BetEngine.IntegrationEvents.EventHandling;

/// <summary>Records what settlement paid on each bet, so "my bets" can list them as settled.</summary>
public sealed class BetsSettledHandler : IIntegrationEventHandler<BetsSettled>
{
    public Task HandleAsync(BetsSettled @event, IntegrationEventContext context, CancellationToken cancellationToken) =>
        BetStore.MarkSettledAsync(context.Transaction, @event, cancellationToken);
}
