using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Options;
using Npgsql;
using StreamBets.BetEngine.Data;
using StreamBets.BetEngine.Placement;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;

namespace StreamBets.BetEngine.Odds;

/// <summary>
/// Coalesces OddsChanged: batches only mark their pool as changed, and every <see cref="BetEngineOptions.OddsInterval"/>
/// (250 ms, so at most 4 per second per pool) one transaction writes one OddsChanged per changed pool to the outbox,
/// with the exact totals from pool_outcome_totals. That write is a trace of its own, a "publish odds" span linked to
/// the batches that changed the odds, so an OddsChanged leads back to the bets behind it. After the commit the same totals
/// go to the Redis hash of <see cref="LiveTotals"/>.
/// </summary>
public sealed partial class OddsPublisher(
    NpgsqlDataSource db, BetStore store, IOutbox outbox, LiveTotals liveTotals, TimeProvider time, IOptions<BetEngineOptions> options,
    ILogger<OddsPublisher> logger)
    : BackgroundService
{
    /// <summary>Links kept per pool between two writes: enough to find the batches, bounded under a rush.</summary>
    private const int MaxLinksPerPool = 8;

    /// <summary>Changed pools, each with the trace contexts of the batches that changed it since the last write.</summary>
    private readonly ConcurrentDictionary<Guid, ActivityContext[]> _changed = new();

    public void MarkChanged(Guid poolId, ActivityContext batch = default) => _changed.AddOrUpdate(
        poolId,
        static (_, batch) => batch == default ? [] : [batch],
        static (_, links, batch) => batch == default || links.Length >= MaxLinksPerPool ? links : [.. links, batch],
        batch);

    /// <summary>Writes one OddsChanged per pool marked since the last call; returns how many were written.</summary>
    public async Task<int> PublishChangedAsync(CancellationToken cancellationToken)
    {
        var taken = new Dictionary<Guid, ActivityContext[]>();
        foreach (var poolId in _changed.Keys)
        {
            if (_changed.TryRemove(poolId, out var batches))
            {
                taken[poolId] = batches;
            }
        }
        if (taken.Count == 0)
        {
            return 0;
        }

        var pools = taken.Keys.ToList();
        var links = taken.Values.SelectMany(batches => batches).Select(batch => new ActivityLink(batch));
        using var activity = BetBatchPipeline.ActivitySource.StartActivity("publish odds", ActivityKind.Internal, parentContext: default, links: links);
        activity?.SetTag("streambets.pools", pools.Count);
        IReadOnlyDictionary<Guid, List<(Guid OutcomeId, long StakedMinor, long BetCount)>> totals;
        try
        {
            await using var connection = await db.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            totals = await store.TotalsAsync(transaction, pools, cancellationToken);
            var asOf = time.GetUtcNow();
            var events = totals.Select(pool => (IIntegrationEvent)new OddsChanged(
                pool.Key,
                pool.Value.Sum(o => o.StakedMinor),
                [.. pool.Value.Select(o => new OutcomeStakes(o.OutcomeId, o.StakedMinor, checked((int)o.BetCount)))],
                asOf)).ToArray();
            await outbox.AddRangeAsync(transaction, events, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
        catch
        {
            foreach (var (poolId, batches) in taken)
            {
                // Try again at the next tick, still linked to the same batches.
                MarkChanged(poolId);
                foreach (var batch in batches)
                {
                    MarkChanged(poolId, batch);
                }
            }
            throw;
        }

        try
        {
            await liveTotals.RaiseToAsync(totals);
        }
        catch (Exception e) when (e is StackExchange.Redis.RedisException or TimeoutException)
        {
            // The odds are published; the hash only lags until the pool's next change writes its totals again.
            LogLiveTotalsFailed(logger, e, totals.Count);
        }
        return totals.Count;
    }

    /// <summary>
    /// Marks every unfinished pool with bets as changed. A batch's mark lives in this process only, so one that committed
    /// just before the process died would leave its pool's last OddsChanged (and the Redis totals) unwritten until the
    /// pool's next bet; after a start, every such pool is published once with its exact totals.
    /// </summary>
    public async Task MarkUnfinishedPoolsAsync(CancellationToken cancellationToken)
    {
        foreach (var poolId in await store.UnfinishedPoolsWithBetsAsync(cancellationToken))
        {
            MarkChanged(poolId);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.OddsInterval, time);
        var started = false;
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                if (!started)
                {
                    await MarkUnfinishedPoolsAsync(stoppingToken);
                    started = true;
                }
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

    [LoggerMessage(EventId = 2, EventName = "LiveTotalsFailed", Level = LogLevel.Warning, Message = "Could not write the Redis live totals of {Count} pools")]
    private static partial void LogLiveTotalsFailed(ILogger logger, Exception exception, int count);
}
