using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;
using StreamBets.Pools.Data;

namespace StreamBets.Pools.IntegrationEvents.EventHandling;

/// <summary>
/// Marks a pool settled when Settlement has paid it out, in the inbox transaction: a redelivered PoolSettled is dropped
/// by the inbox, and a second one with another id (a settlement rerun) keeps the first time.
/// </summary>
public sealed partial class PoolSettledHandler(ILogger<PoolSettledHandler> logger) : IIntegrationEventHandler<PoolSettled>
{
    public async Task HandleAsync(PoolSettled @event, IntegrationEventContext context, CancellationToken cancellationToken)
    {
        if (!await PoolStore.MarkSettledAsync(context.Transaction, @event.PoolId, @event.SettledAt, cancellationToken))
        {
            // Retrying cannot make an unknown pool known: Settlement only settles pools this service published.
            LogUnknownPool(logger, @event.PoolId);
        }
    }

    [LoggerMessage(EventId = 4003, EventName = "SettledUnknownPool", Level = LogLevel.Warning,
        Message = "PoolSettled names pool {PoolId}, which this service does not have; ignored")]
    private static partial void LogUnknownPool(ILogger logger, Guid poolId);
}
