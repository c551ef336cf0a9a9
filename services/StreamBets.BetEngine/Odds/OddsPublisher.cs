using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Npgsql;
using StreamBets.BetEngine.Data;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;

namespace StreamBets.BetEngine.Odds;

/// <summary>
/// Coalesces OddsChanged: batches only mark their pool as changed, and every <see cref="BetEngineOptions.OddsInterval"/>
/// (250 ms, so at most 4 per second per pool) one transaction writes one OddsChanged per changed pool to the outbox,
/// with the exact totals from pool_outcome_totals.
/// </summary>
public sealed partial class OddsPublisher(
    NpgsqlDataSource db, BetStore store, IOutbox outbox, TimeProvider time, IOptions<BetEngineOptions> options, ILogger<OddsPublisher> logger)
    : BackgroundService
{
    private readonly ConcurrentDictionary<Guid, byte> _changed = new();

    public void MarkChanged(Guid poolId) => _changed.TryAdd(poolId, 0);

    /// <summary>Writes one OddsChanged per pool marked since the last call; returns how many were written.</summary>
    public async Task<int> PublishChangedAsync(CancellationToken cancellationToken)
    {
        var pools = new List<Guid>();
        foreach (var poolId in _changed.Keys)
        {
            if (_changed.TryRemove(poolId, out _))
            {
                pools.Add(poolId);
            }
        }
        if (pools.Count == 0)
        {
            return 0;
        }

        try
        {
            await using var connection = await db.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            var totals = await store.TotalsAsync(transaction, pools, cancellationToken);
            var asOf = time.GetUtcNow();
            var events = totals.Select(pool => (IIntegrationEvent)new OddsChanged(
                pool.Key,
                pool.Value.Sum(o => o.StakedMinor),
                [.. pool.Value.Select(o => new OutcomeStakes(o.OutcomeId, o.StakedMinor, checked((int)o.BetCount)))],
                asOf)).ToArray();
            await outbox.AddRangeAsync(transaction, events, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return events.Length;
        }
        catch
        {
            foreach (var poolId in pools)
            {
                MarkChanged(poolId); // try again at the next tick
            }
            throw;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.OddsInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await PublishChangedAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                LogPublishFailed(logger, e);
            }
        }
    }

    [LoggerMessage(EventId = 1, EventName = "OddsPublishFailed", Level = LogLevel.Warning, Message = "Could not write OddsChanged; retrying at the next tick")]
    private static partial void LogPublishFailed(ILogger logger, Exception exception);
}
