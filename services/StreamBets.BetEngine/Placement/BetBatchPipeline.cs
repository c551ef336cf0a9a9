using System.Diagnostics;
using System.Diagnostics.Metrics;
using StreamBets.BetEngine.Data;
using StreamBets.BetEngine.Ledger;
using StreamBets.BetEngine.Odds;
using StreamBets.BetEngine.Pools;

namespace StreamBets.BetEngine.Placement;

/// <summary>A bet that passed the rules and holds a fresh bet id, waiting in its pool's batch.</summary>
public sealed record AdmittedBet(PlaceBetCommand Command, Guid BetId, DateTimeOffset ArrivedAt)
{
    public PendingBet ToPending() => new(BetId, Command.UserId, Command.PoolId, Command.OutcomeId, Command.StakeMinor, ArrivedAt);
}

/// <summary>
/// Commits one pool's batch of bets across two databases without ever moving a stake without a bet or the reverse:
/// <list type="number">
/// <item>write every bet 'pending' in betsdb, with its derived stake transfer id (and learn which requests are replays),
/// while Pools is asked whether betting closed since the bets were admitted (a lock by hand, on another replica's word);</item>
/// <item>ONE Wallet.TransferBatch moves the stakes, user -> escrow:pool:{id}, each answered on its own;</item>
/// <item>ONE betsdb transaction decides every bet, enforces the one-outcome rule and writes BetsPlaced to the outbox
/// (<see cref="BatchFinalizer"/>);</item>
/// <item>after the commit: the odds mark (<see cref="OddsPublisher"/> publishes the totals and writes them to Redis), refunds
/// of rejected moved stakes.</item>
/// </list>
/// A crash between any two steps leaves 'pending' rows that <see cref="PendingBetRecovery"/> re-drives with the same
/// transfer ids, which the ledger applies at most once. A bet recovery claimed while this batch was slow is left to
/// recovery by step 3, and answered pending.
/// <para>
/// A bet admitted just before the lock may reach step 1 after its pool finished. If the pool is in finished_pools by
/// then, step 1 writes nothing and the bet is refused <c>pool-closed</c> with no money moved; if it gets there between
/// steps 1 and 3, step 3 rejects it <c>pool-closed</c> and its stake is refunded. Either way Settlement, which waits
/// while the pool has pending bets or refunds due, never counts it (docs/bets.md).
/// </para>
/// </summary>
public sealed partial class BetBatchPipeline(
    BetStore store, StakeLedger ledger, BatchFinalizer finalizer, OddsPublisher odds, IPoolDirectory pools, TimeProvider time,
    ILogger<BetBatchPipeline> logger)
{
    public static readonly ActivitySource ActivitySource = new("StreamBets.BetEngine");

    /// <summary>The Bet Engine's metrics (docs/bets.md, "Batching").</summary>
    internal static readonly Meter Meter = new("StreamBets.BetEngine");
    private static readonly Histogram<int> BatchSizes = Meter.CreateHistogram<int>("streambets.bets.batch_size", description: "Bets per pool batch.");
    private static readonly Counter<long> Decisions = Meter.CreateCounter<long>("streambets.bets.decisions",
        description: "Bets a live batch answered (status Pending when it left them to recovery) and bets recovery decided, by status, code and path (live, recovery).");

    /// <summary>A pool's batches run one after another: a slow Pools must not hold each of them for the default 5 s.
    /// A read that takes longer leaves the batch's bets pending for recovery.</summary>
    private static readonly TimeSpan PoolReadTimeout = TimeSpan.FromSeconds(1);

    /// <summary>Places a batch of bets of ONE pool. Answers go to <paramref name="answer"/> (in input order) as soon as
    /// the batch committed, before the after-commit work. An unexpected failure is recorded in the batch's span, logged
    /// (BatchFailed) and thrown on.</summary>
    public async Task RunAsync(Guid poolId, IReadOnlyList<AdmittedBet> batch, Action<IReadOnlyList<PlacementResult>> answer, CancellationToken cancellationToken)
    {
        using var activity = ActivitySource.StartActivity("bet batch");
        activity?.SetTag("streambets.pool_id", poolId);
        activity?.SetTag("streambets.bets.batch_size", batch.Count);
        BatchSizes.Record(batch.Count);

        var answered = false;
        try
        {
            await RunStepsAsync(activity, poolId, batch, results =>
            {
                answered = true;
                answer(results);
            }, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Logged here, inside the batch's span, so the log carries the batch's trace id; the caller fails the answers.
            activity.RecordFailure(e);
            LogBatchFailed(logger, e, poolId, batch.Count, answered);
            throw;
        }
    }

    /// <summary>The steps of <see cref="RunAsync"/>, inside its span (<paramref name="activity"/>).</summary>
    private async Task RunStepsAsync(Activity? activity, Guid poolId, IReadOnlyList<AdmittedBet> batch, Action<IReadOnlyList<PlacementResult>> answer, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        var results = new PlacementResult?[batch.Count];
        var ordered = Enumerable.Range(0, batch.Count).OrderBy(i => batch[i].ArrivedAt).ThenBy(i => batch[i].BetId).ToArray();

        // Pools' own word on the pool, read while step 1 runs. The cached snapshot the bets were admitted on may be seconds
        // old, and a lock by hand reaches the other replicas only as an event: without this a bet arriving after the lock
        // (or after the result was known) could be accepted.
        var poolNow = pools.GetFreshAsync(poolId, cancellationToken, PoolReadTimeout);

        // 1. Pending rows, in one round trip and one commit. Whether they committed is unknown if this throws: answer
        //    "unavailable, retry with the same key".
        PendingWrite written;
        try
        {
            written = await WritePendingAsync(poolId, batch, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            StepFailed(activity, e, "write pending", poolId, batch.Count);
            answer(Fill(results, PlacementResult.Refused(Unavailable("The bet database"))));
            return;
        }

        // The keys step 1 did not write (replays, or every bet of a finished pool) are read back after its commit. If that
        // fails, only those requests are told to retry: the new bets are committed pending, and they go on.
        IReadOnlyDictionary<(Guid UserId, string Key), BetRecord>? stored = null;
        if (written.NotWritten.Count > 0)
        {
            try
            {
                stored = await store.ReadByKeysAsync(written.NotWritten, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                LogReadBackFailed(logger, e, poolId, written.NotWritten.Count);
            }
        }

        var pendingWritten = stopwatch.Elapsed;
        var decisions = new List<StakeDecision>(batch.Count);
        var indexOf = new Dictionary<Guid, int>(batch.Count);
        foreach (var i in ordered)
        {
            var admitted = batch[i];
            var command = admitted.Command;
            var key = (command.UserId, command.IdempotencyKey);
            if ((written.RowsByKey.GetValueOrDefault(key) ?? stored?.GetValueOrDefault(key)) is not { } row)
            {
                // Not written, and no bet under its key: the pool finished (or Settlement began its snapshot) while the bet
                // waited in its batch. Nothing was recorded and nothing moved. (Or its key could not be read back.)
                results[i] = PlacementResult.Refused(stored is null ? Unavailable("The bet database") : PoolClosed(stakeMoved: false));
                continue;
            }
            if (row.BetId != admitted.BetId)
            {
                results[i] = command.HasSameBodyAs(row) ? PlacementResult.Of(row, replayed: true) : PlacementResult.Refused(KeyReused());
                continue;
            }

            var bet = admitted.ToPending();
            indexOf[bet.BetId] = i;
            decisions.Add(new StakeDecision(bet, StakeMovement.NotSent));
        }

        // 2 and 3. If either fails, or Pools does not answer, the bets stay pending and recovery decides them; the caller
        // learns "pending".
        FinalizedBatch finalized;
        var stakesMoved = TimeSpan.Zero;
        try
        {
            if (await poolNow is { } pool)
            {
                ClosedSinceAdmission(pool, decisions);
            }
            var known = await MoveStakesAsync(ledger, decisions, new Dictionary<Guid, Guid>(written.OutcomeByUser), cancellationToken);
            stakesMoved = stopwatch.Elapsed;
            finalized = await finalizer.FinalizeAsync(poolId, known, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            StepFailed(activity, e, "move stakes or finalize", poolId, decisions.Count);
            if (stakesMoved > TimeSpan.Zero)
            {
                // The finalize may have committed with only its answer lost: its bets are accepted, so recovery never
                // marks the pool, and the odds would stay short of them. A needless mark republishes the same odds.
                odds.MarkChanged(poolId, Activity.Current?.Context ?? default);
            }
            foreach (var decision in decisions)
            {
                var pending = decision.Bet.ToRecord(BetStatus.Pending);
                results[indexOf[decision.Bet.BetId]] = PlacementResult.Of(pending);
                CountDecision(pending, byRecovery: false);
            }
            answer(Fill(results, PlacementResult.Refused(Unavailable("The bet database"))));
            return;
        }

        foreach (var bet in finalized.Bets)
        {
            results[indexOf[bet.BetId]] = PlacementResult.Of(bet);
            CountDecision(bet, byRecovery: false);
        }
        answer(Fill(results, PlacementResult.Refused(Unavailable("The bet database"))));
        LogBatchTimings(logger, poolId, batch.Count, pendingWritten.TotalMilliseconds, (stakesMoved - pendingWritten).TotalMilliseconds, (stopwatch.Elapsed - stakesMoved).TotalMilliseconds);

        await CompleteAsync(poolId, finalized, cancellationToken);
    }

    /// <summary>
    /// Step 2, with the one-outcome rule applied before any money moves (the finalize enforces it again against races):
    /// a bet on another outcome than its player backs is refused <c>second-outcome</c> unsent. An outcome counts once a
    /// stake moved on it, so a bet on another outcome than the one its player is trying in this batch waits for the
    /// ledger's answers: refused if one of those stakes moved, sent otherwise. One TransferBatch per batch, and one more
    /// only when a player tried two outcomes in it and every stake on the first was refused. Never a third: a player
    /// whose stakes on two outcomes were both refused has bets on a third refused <c>second-outcome</c> unsent, so one
    /// player without funds tapping every outcome cannot hold the pool's batch for ten ledger calls.
    /// <para>Recovery decides a crashed batch's bets with this same code, so a bet is decided alike either way.</para>
    /// </summary>
    /// <param name="backed">The outcome each player backs already (stored).</param>
    internal static async Task<StakeDecision[]> MoveStakesAsync(
        StakeLedger ledger, IReadOnlyList<StakeDecision> decisions, Dictionary<Guid, Guid> backed, CancellationToken cancellationToken)
    {
        var known = decisions.ToArray();
        var waiting = Enumerable.Range(0, known.Length).Where(d => known[d].Rejection is null).ToList();
        for (var round = 1; waiting.Count > 0; round++)
        {
            var sending = new List<int>(waiting.Count);
            var later = new List<int>();
            var capped = new List<int>(); // held past the last round: why is known once this round's stakes are answered
            var trying = new Dictionary<Guid, Guid>();
            foreach (var d in waiting)
            {
                var bet = known[d].Bet;
                if (backed.TryGetValue(bet.UserId, out var outcome) && outcome != bet.OutcomeId)
                {
                    known[d] = new StakeDecision(bet, StakeMovement.NotSent, BatchFinalizer.SecondOutcome());
                    continue;
                }
                // Nothing backed yet: the first outcome the player tries this round goes; a bet on another waits for its answers.
                var tried = trying.TryAdd(bet.UserId, bet.OutcomeId) ? bet.OutcomeId : trying[bet.UserId];
                if (!backed.ContainsKey(bet.UserId) && tried != bet.OutcomeId)
                {
                    (round < MaxStakeRounds ? later : capped).Add(d);
                    continue;
                }
                sending.Add(d);
            }

            IReadOnlyList<LedgerAnswer> answers = sending.Count == 0 ? [] : await ledger.MoveStakesAsync([.. sending.Select(d => known[d].Bet)], cancellationToken);
            for (var s = 0; s < sending.Count; s++)
            {
                var bet = known[sending[s]].Bet;
                known[sending[s]] = ToDecision(bet, answers[s]);
                // Every bet a player sent this round is on one outcome (the one they back, or the one they try): a moved
                // stake makes it theirs.
                if (answers[s].Movement == StakeMovement.Moved)
                {
                    backed.TryAdd(bet.UserId, bet.OutcomeId);
                }
            }
            foreach (var d in capped)
            {
                // Refused unsent either way; the text says whether the player now backs another outcome or had every stake refused.
                var bet = known[d].Bet;
                known[d] = new StakeDecision(bet, StakeMovement.NotSent,
                    backed.ContainsKey(bet.UserId) ? BatchFinalizer.SecondOutcome() : BatchFinalizer.SecondOutcomeAfterRefusals());
            }
            waiting = later;
        }
        return known;
    }

    /// <summary>TransferBatch calls a batch may make: see <see cref="MoveStakesAsync"/>.</summary>
    private const int MaxStakeRounds = 2;

    /// <summary>Step 1 alone: the bets of a batch written as pending. Recovery tests use it to stage a crash.</summary>
    public Task<PendingWrite> WritePendingAsync(Guid poolId, IReadOnlyList<AdmittedBet> batch, CancellationToken cancellationToken) =>
        store.WritePendingAsync(poolId, [.. batch.Select(b => new KeyedBet(b.ToPending(), b.Command.IdempotencyKey))], time.GetUtcNow(), cancellationToken);

    /// <summary>After a batch (live or recovered) committed: the odds mark, and refunds of rejected moved stakes.</summary>
    public async Task CompleteAsync(Guid poolId, FinalizedBatch finalized, CancellationToken cancellationToken)
    {
        if (finalized.NewlyAccepted.Count > 0)
        {
            odds.MarkChanged(poolId, Activity.Current?.Context ?? default);
        }

        if (finalized.RefundsDue.Count > 0)
        {
            await RefundAsync(finalized.RefundsDue, cancellationToken);
        }
    }

    /// <summary>
    /// Gives back stakes of rejected bets; any refund not confirmed stays 'due' for recovery. One the ledger refused is
    /// tried again later, after a wait that grows with each refusal (<see cref="BetStore.DeferRefusedRefundsAsync"/>), so
    /// that it does not hold the head of recovery's list; a failed call (nothing known) leaves the refunds for the next round.
    /// </summary>
    public async Task RefundAsync(IReadOnlyList<PendingBet> bets, CancellationToken cancellationToken)
    {
        try
        {
            var answers = await ledger.RefundAsync(bets, cancellationToken);
            var refunded = bets.Where((_, i) => answers[i].Movement == StakeMovement.Moved).Select(b => b.BetId).ToArray();
            await store.MarkRefundedAsync(refunded, cancellationToken);
            var refused = new List<Guid>();
            for (var i = 0; i < bets.Count; i++)
            {
                if (answers[i].Movement != StakeMovement.Moved)
                {
                    refused.Add(bets[i].BetId);
                    LogRefundRefused(logger, bets[i].BetId, answers[i].Reason ?? "unknown");
                }
            }
            if (refused.Count > 0)
            {
                await store.DeferRefusedRefundsAsync(refused, time.GetUtcNow(), cancellationToken);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            StepFailed(Activity.Current, e, "refund", bets[0].PoolId, bets.Count);
        }
    }

    /// <summary>
    /// Rejects, before any money moves, the bets that arrived once betting had closed (which Pools knows first): at or
    /// after the lock (a lock by hand included), or any bet at all of a pool cancelled meanwhile (cancelled while open,
    /// it has no lock time, and its every stake would only be refunded).
    /// </summary>
    private static void ClosedSinceAdmission(PoolSnapshot pool, List<StakeDecision> decisions)
    {
        var cancelled = pool.State == PoolState.Cancelled ? PoolClosed(stakeMoved: false) : null;
        for (var d = 0; d < decisions.Count; d++)
        {
            if ((cancelled ?? BetRules.Closed(pool, decisions[d].Bet.PlacedAt)) is { } closed)
            {
                decisions[d] = new StakeDecision(decisions[d].Bet, StakeMovement.NotSent, closed);
            }
        }
    }

    internal static StakeDecision ToDecision(PendingBet bet, LedgerAnswer answer) => answer.Movement switch
    {
        StakeMovement.Refused => new StakeDecision(bet, StakeMovement.Refused,
            new BetRejection(BetRejectionCodes.WalletRejected, $"The wallet refused the stake ({answer.Reason}): {answer.Detail}")),
        _ => new StakeDecision(bet, answer.Movement),
    };

    internal static BetRejection KeyReused() => new(BetRejectionCodes.IdempotencyKeyReused,
        "This Idempotency-Key was already used for a bet with another pool, outcome or stake.");

    /// <summary>The pool finished before the bet was completed: settlement does not count it, so it cannot stand.</summary>
    internal static BetRejection PoolClosed(bool stakeMoved) => new(BetRejectionCodes.PoolClosed, stakeMoved
        ? "The pool closed before this bet could be completed; the stake was returned to your wallet."
        : "The pool closed before this bet could be placed; nothing was taken from your wallet.");

    internal static BetRejection Unavailable(string what) => new(BetRejectionCodes.DependencyUnavailable,
        $"{what} did not answer. Nothing was decided; retry with the same Idempotency-Key.");

    /// <summary>One bet answered by a live batch, or decided by recovery. No pool or user tags: the series stay few.</summary>
    internal static void CountDecision(BetRecord bet, bool byRecovery) => Decisions.Add(1,
        new KeyValuePair<string, object?>("status", bet.Status.ToString()),
        new KeyValuePair<string, object?>("code", bet.Rejection?.Code),
        new KeyValuePair<string, object?>("path", byRecovery ? "recovery" : "live"));


    /// <summary>A step failed and the batch went on without it: marked in <paramref name="activity"/> (the span the step
    /// ran in) and logged while that span is current.</summary>
    private void StepFailed(Activity? activity, Exception e, string step, Guid poolId, int count)
    {
        activity.RecordFailure(e);
        LogStepFailed(logger, e, step, poolId, count);
    }

    private static PlacementResult[] Fill(PlacementResult?[] results, PlacementResult fallback) => [.. results.Select(r => r ?? fallback)];

    [LoggerMessage(EventId = 1, EventName = "BatchStepFailed", Level = LogLevel.Warning,
        Message = "Bet batch step '{Step}' failed for pool {PoolId} ({Count} bets); pending bets are left to recovery")]
    private static partial void LogStepFailed(ILogger logger, Exception exception, string step, Guid poolId, int count);

    [LoggerMessage(EventId = 4, EventName = "BatchCommitted", Level = LogLevel.Debug,
        Message = "Pool {PoolId}: batch of {Count} committed (pending write {PendingMs:F1} ms, ledger {LedgerMs:F1} ms, finalize {FinalizeMs:F1} ms)")]
    private static partial void LogBatchTimings(ILogger logger, Guid poolId, int count, double pendingMs, double ledgerMs, double finalizeMs);

    [LoggerMessage(EventId = 5, EventName = "ReplaysUnread", Level = LogLevel.Warning,
        Message = "Pool {PoolId}: {Count} bets of a batch whose keys it did not write could not be read back; they are answered 'retry', the batch's new bets go on")]
    private static partial void LogReadBackFailed(ILogger logger, Exception exception, Guid poolId, int count);

    [LoggerMessage(EventId = 6, EventName = "BatchFailed", Level = LogLevel.Error,
        Message = "A bet batch of pool {PoolId} ({Count} bets) failed unexpectedly (answered before the failure: {Answered})")]
    private static partial void LogBatchFailed(ILogger logger, Exception exception, Guid poolId, int count, bool answered);

    [LoggerMessage(EventId = 3, EventName = "RefundRefused", Level = LogLevel.Error, Message = "The ledger refused the refund of bet {BetId}: {Reason}")]
    private static partial void LogRefundRefused(ILogger logger, Guid betId, string reason);
}
