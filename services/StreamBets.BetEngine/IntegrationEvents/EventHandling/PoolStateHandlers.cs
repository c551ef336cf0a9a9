using StreamBets.BetEngine.Data;
using StreamBets.BetEngine.Pools;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;

namespace StreamBets.BetEngine.IntegrationEvents.EventHandling;

/// <summary>
/// Pool transitions reach the snapshot cache at once instead of after its few seconds. Closing is final, so a closed
/// state overrides whatever a fetch in flight brings back. (The bus delivers each event to one replica of the
/// service; the others close the pool by its lock time or within their cache time.) A resolved or cancelled pool is
/// also recorded in finished_pools, in the inbox transaction, so every replica's batches stop moving stakes into its
/// escrow (bets still in flight are refused or refunded <c>pool-closed</c>).
/// </summary>
public sealed class PoolStateHandlers(IPoolDirectory pools, TimeProvider time)
    : IIntegrationEventHandler<PoolOpened>, IIntegrationEventHandler<PoolLocked>, IIntegrationEventHandler<PoolResolved>, IIntegrationEventHandler<PoolCancelled>
{
    public Task HandleAsync(PoolOpened @event, IntegrationEventContext context, CancellationToken cancellationToken)
    {
        pools.Invalidate(@event.PoolId);
        return Task.CompletedTask;
    }

    public Task HandleAsync(PoolLocked @event, IntegrationEventContext context, CancellationToken cancellationToken)
    {
        pools.MarkClosed(@event.PoolId, PoolState.Locked);
        return Task.CompletedTask;
    }

    public Task HandleAsync(PoolResolved @event, IntegrationEventContext context, CancellationToken cancellationToken)
    {
        pools.MarkClosed(@event.PoolId, PoolState.Resolved);
        return BetStore.MarkFinishedAsync(context.Transaction, @event.PoolId, PoolFinishReasons.Resolved, time.GetUtcNow(), cancellationToken);
    }

    public Task HandleAsync(PoolCancelled @event, IntegrationEventContext context, CancellationToken cancellationToken)
    {
        pools.MarkClosed(@event.PoolId, PoolState.Cancelled);
        return BetStore.MarkFinishedAsync(context.Transaction, @event.PoolId, PoolFinishReasons.Cancelled, time.GetUtcNow(), cancellationToken);
    }
}
