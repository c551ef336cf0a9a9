using Google.Rpc;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using StreamBets.BetEngine.Placement;
using StreamBets.Contracts.Bets;
using StreamBets.Contracts.Wallet;

namespace StreamBets.BetEngine.Tests;

/// <summary>StreamPoolBets: what Settlement pays from, for a resolved or cancelled pool. Totals and chunks come from one
/// snapshot and always agree.</summary>
[Collection(StackCollection.Name)]
public sealed class PoolBetsFeedTests(BetEngineStack stack)
{
    private BetBatchPipeline Pipeline => stack.BetEngine.GetRequiredService<BetBatchPipeline>();
    private PendingBetRecovery Recovery => stack.BetEngine.GetRequiredService<PendingBetRecovery>();

    [Fact]
    public async Task A_pool_with_pending_bets_answers_bets_pending_until_recovery_decided_them()
    {
        var pool = await stack.NewPoolAsync();
        var accepted = await PlaceAsync(pool, 3);
        var users = await FundedUsersAsync(2);
        var pending = users.Select((u, i) => Admit(u, pool, pool.Outcomes[i % 2], 300)).ToArray();
        await Pipeline.WritePendingAsync(pool.Id, pending, default); // a batch in flight, or one a crash left behind
        await stack.CancelPoolAsync(pool.Id);

        var error = await Assert.ThrowsAsync<RpcException>(() => stack.ReadPoolBetsAsync(pool.Id));
        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Equal("bets-pending", error.GetRpcStatus()?.GetDetail<ErrorInfo>()?.Reason);

        // Recovery decides them: the pool has finished, so they are rejected and the stakes the replay moved go back.
        await Recovery.RecoverAsync(TimeSpan.Zero, default);

        var (totals, chunks) = await stack.ReadPoolBetsAsync(pool.Id);
        Assert.Equal(accepted.Length, totals.BetCount);
        Assert.Equal(accepted.Sum(b => b.Command.StakeMinor), totals.TotalStakeMinor);
        Assert.Single(chunks);
        Assert.Equal(totals.TotalStakeMinor, await stack.BalanceAsync(pool.Escrow));
        Assert.Equal(2, await stack.ScalarAsync(
            "SELECT count(*) FROM bets WHERE pool_id = $1 AND status = 'rejected' AND rejection_code = 'pool-closed' AND refund_status = 'done'", pool.Id));
    }

    [Fact]
    public async Task A_pending_batch_left_with_no_pending_bet_holds_settlement_back_only_until_the_next_recovery_round()
    {
        var pool = await stack.NewPoolAsync();
        var accepted = await PlaceAsync(pool, 3);
        Assert.Equal(0, await stack.PendingBatchesOfPoolAsync(pool.Id)); // its finalize deleted it
        // Two finalizers that decide the last bets of one batch at once can each leave its row to the other.
        await stack.ScalarAsync(
            "INSERT INTO pending_batches SELECT gen_random_uuid(), $1, now() - interval '1 minute', array_agg(bet_id) FROM bets WHERE pool_id = $1 RETURNING 1",
            pool.Id);
        await stack.CancelPoolAsync(pool.Id);

        var error = await Assert.ThrowsAsync<RpcException>(() => stack.ReadPoolBetsAsync(pool.Id));
        Assert.Equal("bets-pending", error.GetRpcStatus()?.GetDetail<ErrorInfo>()?.Reason);

        var round = await Recovery.RecoverAsync(TimeSpan.Zero, default);

        Assert.Equal(0, round.Redriven);
        Assert.Equal(0, await stack.PendingBatchesOfPoolAsync(pool.Id));
        var (totals, _) = await stack.ReadPoolBetsAsync(pool.Id);
        Assert.Equal(accepted.Length, totals.BetCount);
        Assert.Equal(accepted.Sum(b => b.Command.StakeMinor), totals.TotalStakeMinor);
    }

    [Fact]
    public async Task The_columns_a_bets_decision_writes_are_in_no_index_of_bets_so_the_update_stays_in_its_page()
    {
        // A decision sets status, decided_at and a rejection; in an index key or predicate any of them would make every
        // decision write a new entry in every index of bets (docs/benchmarks.md, session 22). Half-full pages leave it room.
        var indexes = await stack.ScalarAsync("""
            SELECT count(*) FROM pg_index i
            WHERE i.indrelid = 'bets'::regclass
              AND pg_get_indexdef(i.indexrelid) ~ '\m(status|decided_at|rejection_code|rejection_detail)\M'
            """);
        Assert.Equal(0, indexes);
        Assert.Equal(1, await stack.ScalarAsync("SELECT count(*) FROM pg_class WHERE oid = 'bets'::regclass AND 'fillfactor=50' = ANY(reloptions)"));
    }

    [Fact]
    public async Task A_pool_that_has_not_finished_is_not_streamed_and_keeps_taking_bets()
    {
        var pool = await stack.NewPoolAsync();

        var error = await Assert.ThrowsAsync<RpcException>(() => stack.ReadPoolBetsAsync(pool.Id));

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Equal("pool-not-finished", error.GetRpcStatus()?.GetDetail<ErrorInfo>()?.Reason);
        Assert.Equal(0, await stack.ScalarAsync("SELECT count(*) FROM finished_pools WHERE pool_id = $1", pool.Id));
        await PlaceAsync(pool, 2); // still accepted
    }

    [Fact]
    public async Task Totals_match_the_chunks_which_list_every_accepted_bet_once_in_bet_id_order()
    {
        var pool = await stack.NewPoolAsync(outcomes: 3);
        var placed = await PlaceAsync(pool, 11);
        await stack.CancelPoolAsync(pool.Id);

        var (totals, chunks) = await stack.ReadPoolBetsAsync(pool.Id, maxBetsPerChunk: 4);

        Assert.Equal([4, 4, 3], chunks.Select(c => c.StakeMinor.Count));
        var streamed = chunks.SelectMany(c => Enumerable.Range(0, c.StakeMinor.Count).Select(i => (
            BetId: new Guid(c.BetIds.Span.Slice(16 * i, 16), bigEndian: true),
            UserId: new Guid(c.UserIds.Span.Slice(16 * i, 16), bigEndian: true),
            OutcomeId: Guid.Parse(totals.Outcomes[(int)c.OutcomeIndex[i]].OutcomeId),
            Stake: c.StakeMinor[i]))).ToArray();
        Assert.Equal(streamed.Select(b => b.BetId).Order(), streamed.Select(b => b.BetId));
        Assert.Equal(
            placed.Select(b => (b.BetId, b.Command.UserId, b.Command.OutcomeId, b.Command.StakeMinor)).OrderBy(b => b.BetId),
            streamed.Select(b => (b.BetId, b.UserId, b.OutcomeId, b.Stake)));
        foreach (var outcome in totals.Outcomes)
        {
            var on = streamed.Where(b => b.OutcomeId == Guid.Parse(outcome.OutcomeId)).ToArray();
            Assert.Equal((on.Sum(b => b.Stake), (long)on.Length), (outcome.StakeMinor, outcome.BetCount));
        }
        Assert.Equal((11L, placed.Sum(b => b.Command.StakeMinor)), (totals.BetCount, totals.TotalStakeMinor));
    }

    [Fact]
    public async Task A_pool_without_bets_streams_empty_totals()
    {
        var pool = await stack.NewPoolAsync();
        await stack.CancelPoolAsync(pool.Id);

        var (totals, chunks) = await stack.ReadPoolBetsAsync(pool.Id);

        Assert.Empty(totals.Outcomes);
        Assert.Equal(0, totals.BetCount);
        Assert.Empty(chunks);
    }

    /// <summary>Accepted bets through the real batch path (pending rows, the ledger, the finalize transaction).</summary>
    private async Task<AdmittedBet[]> PlaceAsync(TestPool pool, int count)
    {
        var users = await FundedUsersAsync(count);
        var bets = users.Select((u, i) => Admit(u, pool, pool.Outcomes[i % pool.Outcomes.Length], 100 + 10 * i)).ToArray();
        IReadOnlyList<PlacementResult>? results = null;
        await Pipeline.RunAsync(pool.Id, bets, r => results = r, default);
        Assert.All(results!, r => Assert.Equal(Placement.BetStatus.Accepted, r.Bet?.Status));
        return bets;
    }

    private async Task<Guid[]> FundedUsersAsync(int count)
    {
        var users = Enumerable.Range(0, count).Select(_ => Guid.NewGuid()).ToArray();
        var request = new TransferBatchRequest();
        request.Transfers.AddRange(users.Select(u => new TransferRequest
        {
            TransferId = Guid.NewGuid().ToString(),
            Reason = "sandbox-credit",
            Legs = { new Leg { FromAccount = "psp:clearing", ToAccount = $"user:{u}", AmountMinor = 10_000 } },
        }));
        var reply = await stack.Wallet.TransferBatchAsync(request);
        Assert.All(reply.Results, r => Assert.Equal(TransferStatus.Applied, r.Status));
        return users;
    }

    private static AdmittedBet Admit(Guid userId, TestPool pool, Guid outcomeId, long stake) =>
        new(new PlaceBetCommand(userId, pool.Id, outcomeId, stake, $"feed-{Guid.NewGuid():N}"), Guid.CreateVersion7(), DateTimeOffset.UtcNow);
}
