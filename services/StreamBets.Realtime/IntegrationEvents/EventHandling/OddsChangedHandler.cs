using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;
using StreamBets.Realtime.Odds;

namespace StreamBets.Realtime.IntegrationEvents.EventHandling;

/// <summary>Odds go to the pool's group, coalesced: the handler only hands them to the coalescer.</summary>
public sealed class OddsChangedHandler(OddsCoalescer coalescer) : IIntegrationEventHandler<OddsChanged>
{
    public Task HandleAsync(OddsChanged @event, IntegrationEventContext context, CancellationToken cancellationToken)
    {
        coalescer.Offer(@event);
        return Task.CompletedTask;
    }
}
