using System.Diagnostics;
using Microsoft.Extensions.Options;
using StreamBets.BetEngine.Data;
using StreamBets.BetEngine.Ledger;
using StreamBets.BetEngine.Pools;

namespace StreamBets.BetEngine.Placement;

/// <summary>What one recovery round did.</summary>
public sealed record RecoveryReport(int Redriven, int Accepted, int Rejected, int RefundsRetried);

/// <summary>
/// Re-drives bets a crash left 'pending' (written in step 1 of a batch, never finalized) and refunds left 'due'.
/// <para>
/// A pending bet was validated when it arrived, before the pool's lock time (or so the replica's cached pool said: a
/// bet that arrived after a lock by hand is rejected <c>pool-locked</c>). Its stake transfer is replayed with the
/// same derived id: the ledger answers DUPLICATE if the first attempt applied and applies it now if it never did, so
/// the stake moves exactly once either way. The bet is then finalized like a live batch. Only if the pool has been
/// resolved or cancelled meanwhile (settlement may have run without it) is the bet rejected <c>pool-closed</c> and a
/// moved stake refunded: recovery records the pool in finished_pools, and the finalize does the rest.
/// </para>
/// <para>
/// Before it sends any stake again, recovery CLAIMS the bets in betsdb (a commit of its own), only those still pending
/// then: a bet a live batch decided first is never resent, and a live batch's finalize leaves a claimed bet pending, for
/// recovery alone to decide. That matters because recovery replays every stake, even one the live batch held back (a
/// second outcome, a lock by hand): had the live batch decided such a bet "rejected, nothing moved" while recovery's
/// replay moved it, and recovery then died, the stake would have stayed in escrow for good. A claim older than the
/// grace period belongs to a recoverer that is gone, and the next round claims and replays the bet again; should the old
/// recoverer come back, its finalize leaves the bet to the newer claim (unless its own replay moved the stake: that
/// answer is final), since its INSUFFICIENT_FUNDS may since have become an APPLIED for the newer claim.
/// </para>
/// Safe to run beside live batches and on several replicas: finalizing only touches bets still pending, and a stake
/// moved for a bet someone else rejected is marked for refund.
/// </summary>
public sealed partial class PendingBetRecovery(
    BetStore store, StakeLedger ledger, BatchFinalizer finalizer, BetBatchPipeline pipeline, IPoolDirectory pools,
    TimeProvider time, IOptions<BetEngineOptions> options, ILogger<PendingBetRecovery> logger) : BackgroundService
{
    private const int MaxBetsPerRound = 5_000;
    private const int MaxBetsPerBatch = 500;

    /// <summary>One round: every bet its batch left pending more than <paramref name="olderThan"/> ago (and not claimed by
    /// recovery since), then every refund due as long whose next try is due (one the ledger refused waits, see
    /// <see cref="BetStore.DeferRefusedRefundsAsync"/>), 5,000 at most of each.</summary>
    public async Task<RecoveryReport> RecoverAsync(TimeSpan olderThan, CancellationToken cancellationToken)
    {
        var cutoff = time.GetUtcNow() - olderThan;
        int redriven = 0, accepted = 0, rejected = 0;
        var pending = await store.PendingAsync(cutoff, MaxBetsPerRound, cancellationToken);
        foreach (var pool in pending.GroupBy(b => b.PoolId))
        {
            foreach (var chunk in pool.Chunk(MaxBetsPerBatch))
            {
                // A trace of its own (the bets' first traces are not stored): its ledger call, finalize and BetsPlaced are
                // its children, so "why was my pending bet refunded?" can be followed like a live batch.
                using var activity = BetBatchPipeline.ActivitySource.StartActivity("recover pending bets", ActivityKind.Internal, parentContext: default);
                activity?.SetTag("streambets.pool_id", pool.Key).SetTag("streambets.bets", chunk.Length);
                try
                {
                    if (await RedriveAsync(pool.Key, chunk, cutoff, cancellationToken) is not { } finalized)
                    {
                        continue;
                    }
                    redriven += finalized.Bets.Count;
                    accepted += finalized.NewlyAccepted.Count;
                    rejected += finalized.Bets.Count(b => b.Status == BetStatus.Rejected);
                    foreach (var bet in finalized.Bets)
                    {
                        BetBatchPipeline.CountDecision(bet, byRecovery: true);
                    }
                    await pipeline.CompleteAsync(pool.Key, finalized, cancellationToken);
                }
                catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    activity?.SetStatus(ActivityStatusCode.Error, e.Message);
                    LogRedriveFailed(logger, e, pool.Key, chunk.Length);
                }
            }
        }

        await store.DeleteDecidedBatchesAsync(cutoff, cancellationToken);

        // Due by their next try, not oldest first: refunds the ledger keeps refusing wait their turn behind the rest.
        var refunds = await store.RefundsDueAsync(cutoff, time.GetUtcNow(), MaxBetsPerRound, cancellationToken);
        foreach (var chunk in refunds.Chunk(MaxBetsPerBatch))
        {
            using var activity = BetBatchPipeline.ActivitySource.StartActivity("recover refunds", ActivityKind.Internal, parentContext: default);
            activity?.SetTag("streambets.bets", chunk.Length);
            await pipeline.RefundAsync(chunk, cancellationToken);
        }

        if (redriven > 0 || refunds.Count > 0)
        {
            LogRecovered(logger, redriven, accepted, rejected, refunds.Count);
        }
        return new RecoveryReport(redriven, accepted, rejected, refunds.Count);
    }

    /// <returns>Null when none of the bets was still pending and unclaimed.</returns>
    private async Task<FinalizedBatch?> RedriveAsync(Guid poolId, PendingBet[] candidates, DateTimeOffset claimedBefore, CancellationToken cancellationToken)
    {
        // Settlement may already have run without these bets: once Pools says the pool finished, record it, and the
        // finalize below rejects them (pool-closed) and has their moved stakes refunded.
        var pool = await pools.GetFreshAsync(poolId, cancellationToken);
        if (pool is null || pool.IsFinished)
        {
            var reason = pool is null ? PoolFinishReasons.NotFound
                : pool.State == PoolState.Resolved ? PoolFinishReasons.Resolved : PoolFinishReasons.Cancelled;
            await store.MarkFinishedAsync(poolId, reason, time.GetUtcNow(), cancellationToken);
        }

        // Claimed right before the stakes are sent again, so the claim outlives the ledger call (its deadline is shorter
        // than the grace period after which another round may claim the bets again).
        // The stamp also marks which claim is ours at the finalize; in whole microseconds, as betsdb stores it.
        var now = time.GetUtcNow();
        var claimedAt = new DateTimeOffset(now.UtcTicks - now.UtcTicks % 10, TimeSpan.Zero);
        var claimed = await store.ClaimForRecoveryAsync([.. candidates.Select(b => b.BetId)], claimedAt, claimedBefore, cancellationToken);
        PendingBet[] bets = [.. candidates.Where(b => claimed.Contains(b.BetId))];
        if (bets.Length == 0)
        {
            return null;
        }

        // A batch that died before asking Pools may have left a bet that arrived after a lock by hand.
        var decisions = new StakeDecision[bets.Length];
        for (var i = 0; i < bets.Length; i++)
        {
            decisions[i] = new StakeDecision(bets[i], StakeMovement.NotSent, pool is null ? null : BetRules.Closed(pool, bets[i].PlacedAt));
        }

        // Decided by the live batch's own code (the one-outcome rule, its rounds and its cap), so a bet gets the answer a
        // live batch would have given it. Then every stake it held back is replayed too: only the replay tells whether an
        // earlier attempt (a live batch's, or a recoverer's that died) moved it, and the finalize has any moved stake of
        // a rejected bet refunded. Replayed last, a held-back stake cannot take funds a decided one needed.
        var backed = new Dictionary<Guid, Guid>(await store.OutcomesByUserAsync(poolId, [.. bets.Select(b => b.UserId).Distinct()], cancellationToken));
        var known = await BetBatchPipeline.MoveStakesAsync(ledger, decisions, backed, cancellationToken);
        var heldBack = Enumerable.Range(0, known.Length).Where(i => known[i].Movement == StakeMovement.NotSent).ToArray();
        IReadOnlyList<LedgerAnswer> replayed = heldBack.Length == 0 ? [] : await ledger.MoveStakesAsync([.. heldBack.Select(i => known[i].Bet)], cancellationToken);
        for (var h = 0; h < heldBack.Length; h++)
        {
            var decision = known[heldBack[h]];
            var movement = replayed[h].Movement;
            // The player is told a moved stake is returned, as for a pool-closed bet.
            known[heldBack[h]] = decision with
            {
                Movement = movement,
                Rejection = movement == StakeMovement.Moved && decision.Rejection is { Code: BetRejectionCodes.PoolLocked } closed
                    ? closed with { Detail = $"{closed.Detail} The stake was returned to your wallet." }
                    : decision.Rejection,
            };
        }

        // Only bets still under our claim (or whose stake our replay moved) are ours to decide: had we stalled past the grace
        // period, another round may have claimed them and replayed with an answer ours knows nothing of.
        return await finalizer.FinalizeClaimedAsync(poolId, known, claimedAt, cancellationToken);
    }

    // The first round runs at start-up: a crash's leftovers are re-driven before they age any further.
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        PeriodicRounds.RunAsync(
            options.Value.RecoveryInterval, time, token => RecoverAsync(options.Value.RecoveryGracePeriod, token),
            e => LogRoundFailed(logger, e), stoppingToken, firstRoundAtStart: true);

    [LoggerMessage(EventId = 1, EventName = "BetsRecovered", Level = LogLevel.Information,
        Message = "Recovery re-drove {Redriven} pending bets ({Accepted} accepted, {Rejected} rejected) and retried {Refunds} refunds")]
    private static partial void LogRecovered(ILogger logger, int redriven, int accepted, int rejected, int refunds);

    [LoggerMessage(EventId = 2, EventName = "RedriveFailed", Level = LogLevel.Warning, Message = "Could not re-drive {Count} pending bets of pool {PoolId}; next round")]
    private static partial void LogRedriveFailed(ILogger logger, Exception exception, Guid poolId, int count);

    [LoggerMessage(EventId = 3, EventName = "RecoveryRoundFailed", Level = LogLevel.Warning, Message = "A recovery round failed; next round")]
    private static partial void LogRoundFailed(ILogger logger, Exception exception);
}
