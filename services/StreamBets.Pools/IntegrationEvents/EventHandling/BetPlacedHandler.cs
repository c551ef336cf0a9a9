using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;
using StreamBets.Pools.Data;
using StreamBets.Pools.Stakes;

namespace StreamBets.Pools.IntegrationEvents.EventHandling;

/// <summary>
/// Counts an accepted bet into its outcome's totals, for the pool's detail and live odds. The PostgreSQL update shares
/// the inbox transaction (exactly once); the Redis hash then gets the new absolute totals.
/// </summary>
public sealed partial class BetPlacedHandler(PoolStakes stakes, ILogger<BetPlacedHandler> logger) : IIntegrationEventHandler<BetPlaced>
{
    public async Task HandleAsync(BetPlaced @event, IntegrationEventContext context, CancellationToken cancellationToken)
    {
        var totals = await PoolStore.AddStakeAsync(context.Transaction, @event.PoolId, @event.OutcomeId, @event.StakeMinor, cancellationToken);
        if (totals is null)
        {
            // Retrying cannot make an unknown outcome known; the BetEngine validated the bet against GetPool, so this is a foreign event.
            LogUnknownOutcome(logger, @event.BetId, @event.PoolId, @event.OutcomeId);
            return;
        }

        await stakes.WriteAsync(@event.PoolId, [totals]);
    }

    [LoggerMessage(EventId = 4001, EventName = "BetOnUnknownOutcome", Level = LogLevel.Warning,
        Message = "BetPlaced {BetId} names outcome {OutcomeId}, which pool {PoolId} does not have; ignored")]
    private static partial void LogUnknownOutcome(ILogger logger, Guid betId, Guid poolId, Guid outcomeId);
}
