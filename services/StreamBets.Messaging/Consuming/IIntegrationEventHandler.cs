using StreamBets.Contracts.IntegrationEvents;

namespace StreamBets.Messaging;

/// <summary>
/// Applies one integration event. It runs inside the transaction that also records the event id in the inbox:
/// do the handler's database work through <see cref="IntegrationEventContext.Transaction"/> and a redelivery of
/// the same event has no second effect. Throwing rolls everything back; the event is retried with backoff and,
/// after the last attempt, goes to the dead letter with the error.
/// </summary>
/// <remarks>Handlers are resolved from a DI scope per delivery, so they may take scoped services such as a DbContext.
/// EF Core: <c>db.Database.SetDbConnection(context.Connection); await db.Database.UseTransactionAsync(context.Transaction);</c></remarks>
public interface IIntegrationEventHandler<in TEvent> where TEvent : IIntegrationEvent
{
    Task HandleAsync(TEvent @event, IntegrationEventContext context, CancellationToken cancellationToken);
}
