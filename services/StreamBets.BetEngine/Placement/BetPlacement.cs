using System.Collections.Concurrent;
using Npgsql;
using StreamBets.BetEngine.Data;
using StreamBets.BetEngine.Eligibility;
using StreamBets.BetEngine.Pools;

namespace StreamBets.BetEngine.Placement;

/// <summary>
/// Where a bet enters, for REST and gRPC alike. Cheap rules first (pool, lock time, outcome, stake, and the user's
/// eligibility, all from short caches and in parallel); a bet that passes gets a bet id and joins its pool's batch.
/// <para>
/// Idempotency: the same (user, Idempotency-Key) answers the first result. A concurrent duplicate in this process waits
/// for the first request's answer (and is judged on its own if that was a refusal that stored nothing, or told to retry
/// if it failed unexpectedly); a later one finds the stored bet (in the batch's first write, or by a lookup when the
/// cheap rules refuse it now, e.g. because the pool has locked since, or when its pool's queue is full). Refusals decided
/// before a bet id exists are not stored: nothing moved, and a retry is judged afresh. So is the retry of a bet whose caller stopped waiting
/// before its batch began writing it: such a bet is dropped unwritten (<see cref="PoolBatchers"/>), so no replica can
/// refuse the retry while a queued copy is placed after all.
/// </para>
/// </summary>
public sealed class BetPlacement(IPoolDirectory pools, EligibilityCache eligibility, BetStore store, PoolBatchers batchers, TimeProvider time)
{
    private readonly ConcurrentDictionary<(Guid UserId, string Key), InFlight> _inFlight = new();

    /// <summary>
    /// A full queue means betsdb is already behind: the lookups that find a refused bet's replay may hold only this many
    /// of its connections at once, and beyond them a bet is refused busy unread (its retry with the key is answered once
    /// there is room), so shedding load never adds much to the load it sheds.
    /// </summary>
    private readonly SemaphoreSlim _busyLookups = new(MaxBusyLookups);

    internal const int MaxBusyLookups = 4;

    public async Task<PlacementResult> PlaceAsync(PlaceBetCommand command, CancellationToken cancellationToken)
    {
        var key = (command.UserId, command.IdempotencyKey);
        var mine = new InFlight(command, new TaskCompletionSource<PlacementResult>(TaskCreationOptions.RunContinuationsAsynchronously));
        while (!_inFlight.TryAdd(key, mine))
        {
            if (!_inFlight.TryGetValue(key, out var first))
            {
                continue;
            }
            PlacementResult answer;
            try
            {
                answer = await first.Answer.Task.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                continue; // The first caller went away before its bet was written: nothing was decided, so judge this one.
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The first request failed unexpectedly (it is logged and answered as such), perhaps after its bet was
                // written: this one cannot know, so it is told to retry with the key, never a 500.
                return PlacementResult.Refused(FirstFailed());
            }
            if (answer.Bet is null)
            {
                // Refused with no bet recorded (Pools unreachable, a stake out of range...): nothing is stored under the key,
                // so it was not "used" and has no first result to replay. Judge this one on its own.
                continue;
            }
            return command.HasSameBodyAs(first.Command) ? answer.AsReplay() : PlacementResult.Refused(BetBatchPipeline.KeyReused());
        }

        Task<PlacementResult> decided;
        try
        {
            decided = await DecideAsync(command, cancellationToken);
        }
        catch (Exception e)
        {
            // Out of the table first, so a duplicate woken by the failure finds the key free.
            _inFlight.TryRemove(new KeyValuePair<(Guid, string), InFlight>(key, mine));
            mine.Answer.TrySetException(e);
            throw;
        }

        // Once its batch has begun writing it, a bet completes even if this caller goes away (money may be moving), and
        // the key stays in flight until it does: a retry meanwhile waits for this answer rather than being judged afresh,
        // perhaps after the lock time, and told something the batch then contradicts. Before that, the caller's leaving
        // drops the bet unwritten, and a retry is judged afresh.
        _ = AnswerWhenDecidedAsync(key, mine, decided);
        return await mine.Answer.Task.WaitAsync(cancellationToken);
    }

    private async Task AnswerWhenDecidedAsync((Guid, string) key, InFlight mine, Task<PlacementResult> decided)
    {
        try
        {
            var answer = await decided;
            // Out of the table first: a duplicate woken by a refusal that stored nothing is judged afresh, and finds the key free.
            _inFlight.TryRemove(new KeyValuePair<(Guid, string), InFlight>(key, mine));
            mine.Answer.TrySetResult(answer);
        }
        catch (OperationCanceledException)
        {
            // Dropped unwritten, its caller gone. Out of the table first, so a duplicate woken by it finds the key free.
            _inFlight.TryRemove(new KeyValuePair<(Guid, string), InFlight>(key, mine));
            mine.Answer.TrySetCanceled();
        }
        catch (Exception e)
        {
            mine.Answer.TrySetException(e);
        }
        finally
        {
            _inFlight.TryRemove(new KeyValuePair<(Guid, string), InFlight>(key, mine));
        }
    }

    /// <summary>The cheap rules: a refusal at once, or the answer of the batch the bet joined.</summary>
    private async Task<Task<PlacementResult>> DecideAsync(PlaceBetCommand command, CancellationToken cancellationToken)
    {
        // PostgreSQL keeps microseconds: truncate now so a replay answers exactly the first result.
        var now = time.GetUtcNow();
        var arrivedAt = new DateTimeOffset(now.UtcTicks - now.UtcTicks % 10, TimeSpan.Zero);

        var poolLookup = pools.GetAsync(command.PoolId, cancellationToken);
        var eligibilityCheck = eligibility.CheckAsync(command.UserId, command.SessionId, cancellationToken);
        BetRejection? refusal;
        try
        {
            await Task.WhenAll(poolLookup, eligibilityCheck);
            var pool = await poolLookup;
            refusal = pool is null
                ? new BetRejection(BetRejectionCodes.PoolNotFound, "No pool has this id.")
                : BetRules.Check(command, pool, arrivedAt) ?? await eligibilityCheck;
        }
        catch (DependencyUnavailableException e)
        {
            refusal = BetBatchPipeline.Unavailable(e.Dependency);
        }

        if (refusal is not null)
        {
            return Task.FromResult(await RefusedUnlessPlacedEarlierAsync(command, refusal, cancellationToken));
        }

        Task<PlacementResult> queued;
        try
        {
            queued = batchers.EnqueueAsync(new AdmittedBet(command, Guid.CreateVersion7(arrivedAt), arrivedAt), cancellationToken);
        }
        catch (ObjectDisposedException)
        {
            return Task.FromResult(PlacementResult.Refused(BetBatchPipeline.Unavailable("The Bet Engine, shutting down,")));
        }
        // A full queue refuses a new bet at once; a replay moves no money and needs no room in it: answer it from the store.
        if (queued.IsCompletedSuccessfully && queued.Result.Rejection is { } busy && ReferenceEquals(busy, PoolBatchers.Busy))
        {
            if (!_busyLookups.Wait(0))
            {
                return queued;
            }
            try
            {
                return Task.FromResult(await RefusedUnlessPlacedEarlierAsync(command, busy, cancellationToken));
            }
            finally
            {
                _busyLookups.Release();
            }
        }
        return queued;
    }

    /// <summary>An earlier request with this key may have been accepted before the pool locked (or its queue filled): answer that.</summary>
    private async Task<PlacementResult> RefusedUnlessPlacedEarlierAsync(PlaceBetCommand command, BetRejection refusal, CancellationToken cancellationToken)
    {
        BetRecord? earlier;
        try
        {
            earlier = await store.FindByKeyAsync(command.UserId, command.IdempotencyKey, cancellationToken);
        }
        catch (NpgsqlException)
        {
            return PlacementResult.Refused(BetBatchPipeline.Unavailable("The bet database"));
        }
        return earlier is null ? PlacementResult.Refused(refusal)
            : command.HasSameBodyAs(earlier) ? PlacementResult.Of(earlier, replayed: true)
            : PlacementResult.Refused(BetBatchPipeline.KeyReused());
    }

    private static BetRejection FirstFailed() => new(BetRejectionCodes.DependencyUnavailable,
        "An earlier request with this Idempotency-Key failed unexpectedly. Retry with the same Idempotency-Key to learn whether the bet was placed.");

    private sealed record InFlight(PlaceBetCommand Command, TaskCompletionSource<PlacementResult> Answer);
}
