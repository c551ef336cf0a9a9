using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;
using StreamBets.Pools.Data;
using StreamBets.Pools.Stakes;

namespace StreamBets.Pools.IntegrationEvents.EventHandling;

/// <summary>
/// Counts a batch of accepted bets into their outcomes' totals, for the pool's detail and live odds: one update per
/// event, sharing the inbox transaction (exactly once); the Redis hash then gets the new absolute totals (if Redis lost
/// it, the next read refills it whole). Before the commit, while the outcome rows are locked: after it nothing would
/// order two writes of the same totals. A batch whose group commit rolls back shows until it is applied again alone.
/// </summary>
public sealed partial class BetsPlacedHandler(PoolStakes stakes, ILogger<BetsPlacedHandler> logger) : IIntegrationEventHandler<BetsPlaced>
{
    public async Task HandleAsync(BetsPlaced @event, IntegrationEventContext context, CancellationToken cancellationToken)
    {
        var added = @event.Bets
            .GroupBy(b => b.OutcomeId)
            .Select(g => new OutcomeStakeRow(g.Key, g.Sum(b => b.StakeMinor), g.Count()))
            .ToArray();
        var totals = await PoolStore.AddStakesAsync(context.Transaction, @event.PoolId, added, cancellationToken);
        foreach (var unknown in added.Where(a => totals.All(t => t.OutcomeId != a.OutcomeId)))
        {
            // Retrying cannot make an unknown outcome known; the BetEngine validated the bets against GetPool, so these are foreign.
            LogUnknownOutcome(logger, unknown.BetCount, unknown.OutcomeId, @event.PoolId);
        }
        if (totals.Count > 0)
        {
            await stakes.UpdateAsync(@event.PoolId, totals);
        }
    }

    [LoggerMessage(EventId = 4001, EventName = "BetsOnUnknownOutcome", Level = LogLevel.Warning,
        Message = "BetsPlaced names {Count} bets on outcome {OutcomeId}, which pool {PoolId} does not have; ignored")]
    private static partial void LogUnknownOutcome(ILogger logger, int count, Guid outcomeId, Guid poolId);
}
