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
/// <para>The handler hands the event over and returns, and the bus acknowledges it, so the coalescer is what keeps the
/// odds from then on: the last change before a lock has no next change to repair it. A push that fails is tried again
/// at the next interval (up to <see cref="MaxPushAttempts"/> times, or with newer odds when they came meanwhile), and at
/// shutdown what is still waiting is pushed once. Only a crash loses them.</para>
/// <para>Each push is a trace of its own ("push odds"), linked to the trace of the event whose snapshot it pushes: the
/// loop outlives the event that started it, and inheriting that event's context hung every later push of the rush under
/// a span that had long ended.</para>
/// </remarks>
public sealed partial class OddsCoalescer(LivePublisher publisher, IOptions<RealtimeOptions> options, TimeProvider time, ILogger<OddsCoalescer> logger)
    : IHostedService, IDisposable
{
    public static readonly ActivitySource Source = new("StreamBets.Realtime.Odds");

    /// <summary>Tries of one pool's odds while pushes keep failing: 20 intervals (5 s at 250 ms) outlast a Redis failover.</summary>
    private const int MaxPushAttempts = 20;

    /// <summary>How long shutdown waits for the pushes under way, then for the last ones; the host's own shutdown timeout bounds it too.</summary>
    private static readonly TimeSpan FlushTimeout = TimeSpan.FromSeconds(5);

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
                    pool.FailedPushes = 0; // newer odds get their own attempts, not what older ones left
                }
                if (!pool.Running)
                {
                    pool.Running = true;
                    using (ExecutionContext.SuppressFlow())
                    {
                        pool.Loop = Task.Run(() => PushWhileChangingAsync(odds.PoolId, pool));
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

            // Not cancelled by shutdown: a push takes milliseconds, and StopAsync waits for it before pushing what is left.
            await PushAsync(poolId, pool, next, cause, CancellationToken.None);
            await Task.Delay(options.Value.OddsInterval, time, stopping).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>Pushes one snapshot; when that fails, puts it back as the pool's pending odds unless newer ones came meanwhile.</summary>
    private async Task PushAsync(Guid poolId, PoolOdds pool, OddsChanged odds, ActivityContext cause, CancellationToken cancellationToken)
    {
        using var push = Source.StartActivity(ActivityKind.Internal, links: cause == default ? null : [new ActivityLink(cause)], name: "push odds");
        push?.SetTag("streambets.pool_id", poolId);
        try
        {
            await publisher.PublishOddsAsync(OddsChangedMessage.From(odds), cancellationToken);
            lock (pool)
            {
                pool.FailedPushes = 0;
            }
        }
        catch (Exception e)
        {
            push?.SetStatus(ActivityStatusCode.Error, e.Message);
            bool retry;
            lock (pool)
            {
                retry = ++pool.FailedPushes < MaxPushAttempts;
                if (!retry)
                {
                    pool.FailedPushes = 0; // newer odds get their own attempts
                }
                else if (pool.Pending is null || pool.Pending.TotalStakedMinor < odds.TotalStakedMinor)
                {
                    (pool.Pending, pool.PendingCause) = (odds, cause);
                }
            }
            if (retry)
            {
                LogPushFailed(logger, e, poolId);
            }
            else
            {
                LogPushAbandoned(logger, e, poolId, MaxPushAttempts);
            }
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Ends the loops and pushes what they still held once, in a bounded time: the last odds of a pool that locks while
    /// this replica stops would otherwise be lost. The bus's consumer stops first (it is registered later), so no new
    /// odds arrive meanwhile.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        waiting.CancelAfter(FlushTimeout);
        // A push under way ends (or puts its odds back when it failed) before the rest is taken.
        var loops = _pools.Values.Select(pool =>
        {
            lock (pool)
            {
                return pool.Loop ?? Task.CompletedTask;
            }
        });
        await Task.WhenAll(loops).WaitAsync(waiting.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        // A budget of its own: one slow push above must not leave every other pool's flush a cancelled token.
        using var flushing = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        flushing.CancelAfter(FlushTimeout);
        await Task.WhenAll(_pools.Select(entry =>
        {
            OddsChanged? pending;
            ActivityContext cause;
            lock (entry.Value)
            {
                (pending, cause) = (entry.Value.Pending, entry.Value.PendingCause);
                entry.Value.Pending = null;
            }
            return pending is null ? Task.CompletedTask : PushAsync(entry.Key, entry.Value, pending, cause, flushing.Token);
        }));
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
        /// <summary>The pool's push loop, while <see cref="Running"/>.</summary>
        public Task? Loop { get; set; }
        /// <summary>Pushes that failed in a row.</summary>
        public int FailedPushes { get; set; }
    }

    [LoggerMessage(EventId = 10, EventName = "OddsPushFailed", Level = LogLevel.Warning, Message = "Could not push the odds of pool {PoolId}; trying again")]
    private static partial void LogPushFailed(ILogger logger, Exception exception, Guid poolId);

    [LoggerMessage(EventId = 11, EventName = "OddsPushAbandoned", Level = LogLevel.Error, Message = "Gave up pushing the odds of pool {PoolId} after {Attempts} attempts; its next change will push them")]
    private static partial void LogPushAbandoned(ILogger logger, Exception exception, Guid poolId, int attempts);
}
