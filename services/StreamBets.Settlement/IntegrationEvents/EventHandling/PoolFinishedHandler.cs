using System.Diagnostics;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;
using StreamBets.Settlement.Data;
using StreamBets.Settlement.Payouts;

namespace StreamBets.Settlement.IntegrationEvents.EventHandling;

/// <summary>
/// A resolved or cancelled pool becomes a 'due' settlement, in the inbox transaction, and nothing more: paying a pool
/// takes far longer than an event delivery should, so the <see cref="SettlementWorker"/> runs it (and resumes it after
/// a crash). A redelivered event, or a second event about the same pool, finds the row and changes nothing.
/// </summary>
public sealed partial class PoolFinishedHandler(SettlementWorkerSignal signal, TimeProvider time, ILogger<PoolFinishedHandler> logger)
    : IIntegrationEventHandler<PoolResolved>, IIntegrationEventHandler<PoolCancelled>
{
    public Task HandleAsync(PoolResolved @event, IntegrationEventContext context, CancellationToken cancellationToken) =>
        RecordAsync(@event.PoolId, SettlementKinds.Resolved, @event.ResolvedAt, context, cancellationToken);

    public Task HandleAsync(PoolCancelled @event, IntegrationEventContext context, CancellationToken cancellationToken) =>
        RecordAsync(@event.PoolId, SettlementKinds.Cancelled, @event.CancelledAt, context, cancellationToken);

    private async Task RecordAsync(Guid poolId, string kind, DateTimeOffset finishedAt, IntegrationEventContext context, CancellationToken cancellationToken)
    {
        if (await SettlementStore.RecordDueAsync(context.Transaction, poolId, kind, finishedAt, time.GetUtcNow(), Activity.Current?.Id, cancellationToken))
        {
            LogDue(logger, poolId, kind);
            signal.Wake();
        }
        else
        {
            LogAlreadyKnown(logger, poolId, kind);
        }
    }

    [LoggerMessage(EventId = 1, EventName = "SettlementDue", Level = LogLevel.Information, Message = "Pool {PoolId} was {Kind}: settlement due")]
    private static partial void LogDue(ILogger logger, Guid poolId, string kind);

    [LoggerMessage(EventId = 2, EventName = "SettlementAlreadyKnown", Level = LogLevel.Information,
        Message = "Pool {PoolId} was {Kind} again or redelivered; its settlement is already recorded")]
    private static partial void LogAlreadyKnown(ILogger logger, Guid poolId, string kind);
}
