using StreamBets.BetEngine.Pools;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;

namespace StreamBets.BetEngine.IntegrationEvents.EventHandling;

/// <summary>
/// Pool transitions reach the snapshot cache at once instead of after its few seconds. Closing is final, so a closed
/// state overrides whatever a fetch in flight brings back. (The bus delivers each event to one replica of the
/// service; the others close the pool by its lock time or within their cache time.)
/// </summary>
public sealed class PoolStateHandlers(IPoolDirectory pools)
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
        return Task.CompletedTask;
    }

    public Task HandleAsync(PoolCancelled @event, IntegrationEventContext context, CancellationToken cancellationToken)
    {
        pools.MarkClosed(@event.PoolId, PoolState.Cancelled);
        return Task.CompletedTask;
    }
}
