using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Realtime.Live;

namespace StreamBets.Realtime.Odds;

/// <summary>
/// Keeps a rush of OddsChanged from flooding clients: per pool, the first change after a quiet interval is pushed at
/// once, later ones wait for the end of the interval and only the latest is pushed (latest by <c>AsOf</c>). So a pool
/// gets at most one push per <see cref="RealtimeOptions.OddsInterval"/> on this replica; the bus gives a pool's odds to
/// one replica at a time.
/// </summary>
/// <remarks>Odds are a snapshot, so losing one in a crash costs nothing the next change does not repair: the handler
/// hands the event over and returns, and the bus acknowledges it.</remarks>
public sealed partial class OddsCoalescer(LivePublisher publisher, IOptions<RealtimeOptions> options, TimeProvider time, ILogger<OddsCoalescer> logger)
    : IDisposable
{
    private readonly ConcurrentDictionary<Guid, PoolOdds> _pools = new();
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>Pools with a push pending or sent within the last interval (tests, diagnostics).</summary>
    public int ActivePools => _pools.Count;

    public void Offer(OddsChanged odds)
    {
        while (true)
        {
            var pool = _pools.GetOrAdd(odds.PoolId, static _ => new PoolOdds());
            lock (pool)
            {
                if (pool.Retired)
                {
                    continue; // its loop just ended and removed it: start a fresh one
                }
                if ((pool.Pending?.AsOf ?? pool.LastPushedAsOf) <= odds.AsOf)
                {
                    pool.Pending = odds;
                }
                if (!pool.Running)
                {
                    pool.Running = true;
                    _ = Task.Run(() => PushWhileChangingAsync(odds.PoolId, pool));
                }
                return;
            }
        }
    }

    /// <summary>Pushes the pending odds, waits an interval, and repeats while changes keep coming; then retires.</summary>
    private async Task PushWhileChangingAsync(Guid poolId, PoolOdds pool)
    {
        var stopping = _stopping.Token;
        while (!stopping.IsCancellationRequested)
        {
            OddsChanged? next;
            lock (pool)
            {
                next = pool.Pending;
                pool.Pending = null;
                if (next is null)
                {
                    pool.Retired = true;
                    _pools.TryRemove(KeyValuePair.Create(poolId, pool));
                    return;
                }
                pool.LastPushedAsOf = next.AsOf;
            }

            try
            {
                await publisher.PublishAsync(LiveStream.Pool(poolId), OddsChangedMessage.From(next), eventId: null, stopping);
            }
            catch (Exception e) when (!stopping.IsCancellationRequested)
            {
                LogPushFailed(logger, e, poolId);
            }
            await Task.Delay(options.Value.OddsInterval, time, stopping).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    // Cancelled, not disposed: a late Offer during shutdown may still read the token.
    public void Dispose() => _stopping.Cancel();

    private sealed class PoolOdds
    {
        public OddsChanged? Pending { get; set; }
        public DateTimeOffset LastPushedAsOf { get; set; } = DateTimeOffset.MinValue;
        public bool Running { get; set; }
        public bool Retired { get; set; }
    }

    [LoggerMessage(EventId = 10, EventName = "OddsPushFailed", Level = LogLevel.Warning, Message = "Could not push the odds of pool {PoolId}; the next change will")]
    private static partial void LogPushFailed(ILogger logger, Exception exception, Guid poolId);
}
