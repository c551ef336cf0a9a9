using System.Diagnostics;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Options;
using StreamBets.Contracts.Pools;
using StreamBets.Settlement.Data;
using PoolsClient = StreamBets.Contracts.Pools.Pools.PoolsClient;

namespace StreamBets.Settlement.Payouts;

/// <summary>
/// Every <see cref="SettlementOptions.ReconcileInterval"/>, asks Pools for the pools resolved or cancelled more than
/// <see cref="SettlementOptions.ReconcileMinimumAge"/> ago that are not paid out yet, and records each due exactly as the
/// PoolResolved / PoolCancelled handler does (<see cref="SettlementStore.RecordDueAsync(Guid, string, DateTimeOffset, DateTimeOffset, string?, CancellationToken)"/>):
/// a pool Settlement already knows, in any state (due, running, failed, settled, requeued), is not recorded again, and
/// replicas doing it at once record a pool once. Without it, a pool whose event was lost on the bus (dead-lettered,
/// trimmed from a Redis stream before it was read, acknowledged unread) kept every stake in escrow for ever, unseen.
/// <para>
/// A round reads at most <see cref="SettlementOptions.ReconcileBatchSize"/> pools and the next round goes on after the
/// last of them, starting over at the oldest once it reached the end: pools Settlement knows but Pools still lists (a
/// failed settlement, a PoolSettled that has not reached Pools yet) cannot hide a lost one behind them for ever.
/// </para>
/// <para>
/// A listed pool Settlement has settled more than <see cref="SettlementOptions.ReconcileMinimumAge"/> ago, and not
/// re-announced within it, gets its PoolSettled written again (<see cref="SettlementStore.ReannounceSettledAsync"/>):
/// without it, a lost PoolSettled left the pool "paying out" at Pools, and listed here, for ever.
/// </para>
/// </summary>
public sealed partial class SettlementReconciler(
    PoolsClient pools, SettlementStore store, SettlementWorkerSignal signal, TimeProvider time, IOptions<SettlementOptions> options,
    ILogger<SettlementReconciler> logger) : BackgroundService
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The <c>kind</c> of a PoolSettled written again on the reconciled counter, beside the recorded settlements' kinds.</summary>
    public const string ReannouncedKind = "settled";

    /// <summary>Where the next round starts in Pools' list: after this pool; null for the oldest.</summary>
    private (Timestamp ClosedAt, string PoolId)? _after;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        PeriodicRounds.RunAsync(options.Value.ReconcileInterval, time, ReconcileAsync, e => LogRoundFailed(logger, e), stoppingToken);

    /// <summary>
    /// One round: one page of Pools' unsettled finished pools, each recorded due unless Settlement knows it already, and
    /// each Settlement has settled long enough ago announced again.
    /// </summary>
    public async Task ReconcileAsync(CancellationToken cancellationToken)
    {
        using var activity = SettlementTelemetry.Source.StartActivity("reconcile settlements");
        var settings = options.Value;
        var now = time.GetUtcNow();
        var request = new ListUnsettledPoolsRequest
        {
            FinishedBefore = Timestamp.FromDateTimeOffset(now - settings.ReconcileMinimumAge),
            Limit = Math.Clamp(settings.ReconcileBatchSize, 1, 1_000), // the most Pools answers
        };
        if (_after is { } after)
        {
            (request.AfterClosedAt, request.AfterPoolId) = after;
        }

        // The deadline on the real clock: gRPC measures it so, whatever the service's TimeProvider says.
        var reply = await pools.ListUnsettledPoolsAsync(request, deadline: DateTime.UtcNow + CallTimeout, cancellationToken: cancellationToken);
        var recorded = 0;
        foreach (var pool in reply.Pools)
        {
            string? kind = pool.State switch
            {
                PoolState.Resolved => SettlementKinds.Resolved,
                PoolState.Cancelled => SettlementKinds.Cancelled,
                _ => null,
            };
            if (kind is null)
            {
                // A state this build does not know (a newer Pools mid-deploy, Unspecified): skipped rather than thrown, or
                // the cursor would never pass it and the pools after it would never be recorded.
                LogUnknownState(logger, pool.PoolId, pool.State.ToString());
                continue;
            }
            var poolId = Guid.Parse(pool.PoolId);
            var closedAt = pool.ClosedAt.ToDateTimeOffset();
            if (await store.RecordDueAsync(poolId, kind, closedAt, now, Activity.Current?.Id, cancellationToken))
            {
                recorded++;
                SettlementTelemetry.Reconciled.Add(1, new KeyValuePair<string, object?>("kind", kind));
                LogReconciled(logger, poolId, kind, closedAt);
            }
            // Settled here, unsettled at Pools: its PoolSettled was lost, or is late behind a consumer lag, which the
            // minimum age since it settled (or was last re-announced) tells apart. BetsSettled is not sent again (see
            // ReannounceSettledAsync).
            else if (await store.ReannounceSettledAsync(poolId, now - settings.ReconcileMinimumAge, now, cancellationToken))
            {
                SettlementTelemetry.Reconciled.Add(1, new KeyValuePair<string, object?>("kind", ReannouncedKind));
                LogReannounced(logger, poolId, settings.ReconcileMinimumAge);
            }
        }

        // Set only once the page is recorded: a round that failed halfway reads the same page again.
        _after = reply.Pools.Count < request.Limit ? null : (reply.Pools[^1].ClosedAt, reply.Pools[^1].PoolId);
        if (recorded > 0)
        {
            signal.Wake();
        }
    }

    [LoggerMessage(EventId = 50, EventName = "SettlementReconciled", Level = LogLevel.Warning,
        Message = "Pool {PoolId} was {Kind} at {ClosedAt} and Settlement had not heard of it: its PoolResolved/PoolCancelled was lost, or is late behind a consumer lag; settlement recorded due by the reconciler")]
    private static partial void LogReconciled(ILogger logger, Guid poolId, string kind, DateTimeOffset closedAt);

    [LoggerMessage(EventId = 53, EventName = "PoolSettledReannounced", Level = LogLevel.Warning,
        Message = "Pool {PoolId} was settled over {MinimumAge} ago and Pools had not heard of it: its PoolSettled was lost, or is late behind a consumer lag; PoolSettled re-announced by the reconciler")]
    private static partial void LogReannounced(ILogger logger, Guid poolId, TimeSpan minimumAge);

    [LoggerMessage(EventId = 51, EventName = "SettlementReconcileFailed", Level = LogLevel.Warning,
        Message = "Looking for finished pools whose settlement was never recorded failed; next round in the reconcile interval")]
    private static partial void LogRoundFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 52, EventName = "SettlementReconcileUnknownState", Level = LogLevel.Warning,
        Message = "Pools listed pool {PoolId} as unsettled in state {State}, which this Settlement does not know; skipped, and the round goes on with the pools after it")]
    private static partial void LogUnknownState(ILogger logger, string poolId, string state);
}
