using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Options;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Realtime.Live;

namespace StreamBets.Realtime.Odds;

/// <summary>
/// Keeps a rush of OddsChanged from flooding clients: per pool, the first change after a quiet interval is pushed at
/// once, later ones wait for the end of the interval and only the latest is pushed. So a pool gets at most one push per
/// <see cref="RealtimeOptions.OddsInterval"/> on this replica; the bus gives a pool's odds to one replica at a time.
/// </summary>
/// <remarks>
/// <para>"Latest" is the snapshot with the most staked, not the newest <c>AsOf</c>: a pool's total only rises while it
/// takes bets, whereas <c>AsOf</c> is the clock of whichever Bet Engine replica read the totals. This entry is gone once
/// the pool goes quiet, so Redis remembers the total last pushed per pool (<see cref="LivePublisher.PublishOddsAsync"/>)
/// and an older snapshot arriving later (a stalled Bet Engine replica's, a redelivery) is dropped there.</para>
/// <para>Odds are a snapshot, so losing one in a crash costs nothing the next change does not repair: the handler
/// hands the event over and returns, and the bus acknowledges it.</para>
/// <para>Each push is a trace of its own ("push odds"), linked to the trace of the event whose snapshot it pushes: the
/// loop outlives the event that started it, and inheriting that event's context hung every later push of the rush under
/// a span that had long ended.</para>
/// </remarks>
public sealed partial class OddsCoalescer(LivePublisher publisher, IOptions<RealtimeOptions> options, TimeProvider time, ILogger<OddsCoalescer> logger)
    : IDisposable
{
    public static readonly ActivitySource Source = new("StreamBets.Realtime.Odds");

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
                if (pool.Pending is null || pool.Pending.TotalStakedMinor <= odds.TotalStakedMinor)
                {
                    (pool.Pending, pool.PendingCause) = (odds, Activity.Current?.Context ?? default);
                }
                if (!pool.Running)
                {
                    pool.Running = true;
                    using (ExecutionContext.SuppressFlow())
                    {
                        _ = Task.Run(() => PushWhileChangingAsync(odds.PoolId, pool));
                    }
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
            ActivityContext cause;
            lock (pool)
            {
                (next, cause) = (pool.Pending, pool.PendingCause);
                pool.Pending = null;
                if (next is null)
                {
                    pool.Retired = true;
                    _pools.TryRemove(KeyValuePair.Create(poolId, pool));
                    return;
                }
            }

            using (var push = Source.StartActivity(ActivityKind.Internal, links: cause == default ? null : [new ActivityLink(cause)], name: "push odds"))
            {
                push?.SetTag("streambets.pool_id", poolId);
                try
                {
                    await publisher.PublishOddsAsync(OddsChangedMessage.From(next), stopping);
                }
                catch (Exception e) when (!stopping.IsCancellationRequested)
                {
                    LogPushFailed(logger, e, poolId);
                    push?.SetStatus(ActivityStatusCode.Error, e.Message);
                }
            }
            await Task.Delay(options.Value.OddsInterval, time, stopping).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    // Cancelled, not disposed: a late Offer during shutdown may still read the token.
    public void Dispose() => _stopping.Cancel();

    private sealed class PoolOdds
    {
        public OddsChanged? Pending { get; set; }
        /// <summary>The trace of the event that brought <see cref="Pending"/>.</summary>
        public ActivityContext PendingCause { get; set; }
        public bool Running { get; set; }
        public bool Retired { get; set; }
    }

    [LoggerMessage(EventId = 10, EventName = "OddsPushFailed", Level = LogLevel.Warning, Message = "Could not push the odds of pool {PoolId}; the next change will")]
    private static partial void LogPushFailed(ILogger logger, Exception exception, Guid poolId);
}
