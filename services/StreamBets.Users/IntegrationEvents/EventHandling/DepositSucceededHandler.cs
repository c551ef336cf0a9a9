using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;
using StreamBets.Users.ResponsibleGambling;

namespace StreamBets.Users.IntegrationEvents.EventHandling;

/// <summary>Keeps the deposit record that deposit limits are measured against, in the inbox transaction.</summary>
public sealed class DepositSucceededHandler : IIntegrationEventHandler<DepositSucceeded>
{
    public Task HandleAsync(DepositSucceeded @event, IntegrationEventContext context, CancellationToken cancellationToken) =>
        ResponsibleGamblingStore.RecordDepositAsync(context.Transaction, @event.DepositId, @event.UserId, @event.AmountMinor, @event.SucceededAt, cancellationToken);
}
