using System.Collections.Concurrent;
using StreamBets.BetEngine.Data;
using StreamBets.BetEngine.Eligibility;
using StreamBets.BetEngine.Pools;

namespace StreamBets.BetEngine.Placement;

/// <summary>
/// Where a bet enters, for REST and gRPC alike. Cheap rules first (pool, lock time, outcome, stake, and the user's
/// eligibility, all from short caches and in parallel); a bet that passes gets a bet id and joins its pool's batch.
/// <para>
/// Idempotency: the same (user, Idempotency-Key) answers the first result. A concurrent duplicate in this process waits
/// for the first request's answer; a later one finds the stored bet (in the batch's first write, or by a lookup when
/// the cheap rules refuse it now, e.g. because the pool has locked since). Refusals decided before a bet id exists are
/// not stored: nothing moved, and a retry is judged afresh.
/// </para>
/// </summary>
public sealed class BetPlacement(IPoolDirectory pools, EligibilityCache eligibility, BetStore store, PoolBatchers batchers, TimeProvider time)
{
    private readonly ConcurrentDictionary<(Guid UserId, string Key), InFlight> _inFlight = new();

    public async Task<PlacementResult> PlaceAsync(PlaceBetCommand command, CancellationToken cancellationToken)
    {
        var key = (command.UserId, command.IdempotencyKey);
        var mine = new InFlight(command, new TaskCompletionSource<PlacementResult>(TaskCreationOptions.RunContinuationsAsynchronously));
        while (!_inFlight.TryAdd(key, mine))
        {
            if (_inFlight.TryGetValue(key, out var first))
            {
                var answer = await first.Answer.Task.WaitAsync(cancellationToken);
                return command.HasSameBodyAs(first.Command) ? answer.AsReplay() : PlacementResult.Refused(BetBatchPipeline.KeyReused());
            }
        }

        try
        {
            // Once queued, a bet completes even if this caller goes away: money may already be moving.
            var result = await PlaceNewAsync(command, cancellationToken);
            mine.Answer.TrySetResult(result);
            return result;
        }
        catch (Exception e)
        {
            mine.Answer.TrySetException(e);
            throw;
        }
        finally
        {
            _inFlight.TryRemove(new KeyValuePair<(Guid, string), InFlight>(key, mine));
        }
    }

    private async Task<PlacementResult> PlaceNewAsync(PlaceBetCommand command, CancellationToken cancellationToken)
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
            // An earlier request with this key may have been accepted before the pool locked: answer that.
            var earlier = await store.FindByKeyAsync(command.UserId, command.IdempotencyKey, cancellationToken);
            return earlier is null ? PlacementResult.Refused(refusal)
                : command.HasSameBodyAs(earlier) ? PlacementResult.Of(earlier, replayed: true)
                : PlacementResult.Refused(BetBatchPipeline.KeyReused());
        }

        return await batchers.EnqueueAsync(new AdmittedBet(command, Guid.CreateVersion7(arrivedAt), arrivedAt)).WaitAsync(cancellationToken);
    }

    private sealed record InFlight(PlaceBetCommand Command, TaskCompletionSource<PlacementResult> Answer);
}
