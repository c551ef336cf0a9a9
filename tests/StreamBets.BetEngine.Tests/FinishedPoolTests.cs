using System.Net;
using System.Text.Json;
using Google.Rpc;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using StreamBets.BetEngine.Apis;
using StreamBets.BetEngine.Placement;
using StreamBets.BetEngine.Pools;

namespace StreamBets.BetEngine.Tests;

/// <summary>
/// A bet admitted while its pool was open can still be in its batch when the pool is resolved or cancelled and
/// Settlement takes its snapshot. Every stake that reaches the escrow must then be either in that snapshot or refunded:
/// never both, never neither. The races are forced, not hoped for: <see cref="StakeHold"/> freezes a batch after the
/// ledger moved its stakes, and a competing transaction on the bet's idempotency key freezes a batch inside its
/// pending write.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class FinishedPoolTests(BetEngineStack stack)
{
    private const long Funds = 10_000;

    private BetBatchPipeline Pipeline => stack.BetEngine.GetRequiredService<BetBatchPipeline>();

    [Fact]
    public async Task A_bet_whose_stake_moved_as_its_pool_was_cancelled_is_rejected_pool_closed_and_refunded()
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync(Funds);
        using var client = stack.BetClient(player);
        var key = Guid.NewGuid().ToString();
        using var hold = stack.StakeHold.Arm(pool.Id);

        var placing = client.PlaceAsync(pool, pool.Outcomes[0], 700, key);
        await hold.Reached.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(700, await stack.BalanceAsync(pool.Escrow)); // the stake is in escrow, the bet still pending

        // Meanwhile the pool is cancelled and Settlement begins its snapshot: it must wait for the bet's fate.
        await stack.CancelPoolAsync(pool.Id);
        var early = await Assert.ThrowsAsync<RpcException>(() => stack.ReadPoolBetsAsync(pool.Id));
        Assert.Equal("bets-pending", early.GetRpcStatus()?.GetDetail<ErrorInfo>()?.Reason);
        hold.Release();

        using var response = await placing;
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal(BetRequests.Problem("pool-closed"), await response.ProblemTypeAsync());
        var betId = await ProblemBetIdAsync(response);

        // The refund runs right after the answer; once it is recorded done, the player has every minor unit back, once,
        // under the transfer id derived from the bet.
        Assert.True(await BetEngineStack.EventuallyAsync(async () => await stack.ScalarAsync(
            "SELECT count(*) FROM bets WHERE bet_id = $1 AND status = 'rejected' AND rejection_code = 'pool-closed' AND refund_status = 'done'", betId) == 1),
            "The bet's refund was never recorded done.");
        Assert.Equal(Funds, await stack.BalanceAsync(player.Account));
        Assert.Equal(0, await stack.BalanceAsync(pool.Escrow));
        Assert.Single(await stack.TransferIdsAsync(player.Account), id => id == BetTransferIds.Refund(betId).ToString());
        await stack.AssertLedgerExactAsync();

        // Settlement's next try sees no bet, so it pays nothing out of the escrow the refund already emptied.
        var (totals, chunks) = await stack.ReadPoolBetsAsync(pool.Id);
        Assert.Equal((0L, 0L), (totals.BetCount, totals.TotalStakeMinor));
        Assert.Empty(chunks);

        // A retry of the request answers the same result.
        using var replay = await client.PlaceAsync(pool, pool.Outcomes[0], 700, key);
        Assert.Equal(HttpStatusCode.Conflict, replay.StatusCode);
        Assert.Equal(BetRequests.Problem("pool-closed"), await replay.ProblemTypeAsync());
        Assert.Equal("true", replay.Headers.GetValues(BetsApi.ReplayedHeader).Single());
    }

    [Fact]
    public async Task A_bet_still_in_its_batch_when_the_settlement_snapshot_began_is_refused_without_moving_money()
    {
        var pool = await stack.NewPoolAsync();
        var early = await stack.NewPlayerAsync(Funds);
        using (var accepted = await stack.BetClient(early).PlaceAsync(pool, pool.Outcomes[0], 500))
        {
            Assert.Equal(HttpStatusCode.Created, accepted.StatusCode);
        }
        var late = await stack.NewPlayerAsync(Funds);
        // Admitted while the pool was open; its batch runs only after the pool was cancelled and the snapshot began.
        var bet = stack.Admit(late, pool, pool.Outcomes[1], 800);
        await stack.CancelPoolAsync(pool.Id);
        var (before, _) = await stack.ReadPoolBetsAsync(pool.Id);

        IReadOnlyList<PlacementResult>? results = null;
        await Pipeline.RunAsync(pool.Id, [bet], r => results = r, default);

        var result = Assert.Single(results!);
        Assert.Null(result.Bet);
        Assert.Equal(BetRejectionCodes.PoolClosed, result.Rejection?.Code);
        Assert.Equal(0, await stack.ScalarAsync("SELECT count(*) FROM bets WHERE bet_id = $1", bet.BetId));
        Assert.Equal(Funds, await stack.BalanceAsync(late.Account));
        Assert.DoesNotContain(await stack.TransferIdsAsync(late.Account), id => id == BetTransferIds.Stake(bet.BetId).ToString());
        // The escrow holds exactly what the snapshot holds, and the snapshot has not changed.
        var (after, _) = await stack.ReadPoolBetsAsync(pool.Id);
        Assert.Equal((1L, 500L), (before.BetCount, before.TotalStakeMinor));
        Assert.Equal((before.BetCount, before.TotalStakeMinor), (after.BetCount, after.TotalStakeMinor));
        Assert.Equal(500, await stack.BalanceAsync(pool.Escrow));
        await stack.AssertLedgerExactAsync();
    }

    [Fact]
    public async Task A_settlement_snapshot_waits_for_a_pending_write_in_flight_and_the_bet_is_then_refunded()
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync(Funds);
        var bet = stack.Admit(player, pool, pool.Outcomes[0], 900);

        // Another transaction holds the bet's (user, key), so the batch's pending write stops inside its transaction,
        // with the pool gate held shared.
        await using var blocker = await stack.BetsDb.OpenConnectionAsync();
        await using var blocking = await blocker.BeginTransactionAsync();
        await using (var insert = new NpgsqlCommand("""
            INSERT INTO bets (bet_id, user_id, idempotency_key, pool_id, outcome_id, stake_minor, stake_transfer_id, status, placed_at, written_at)
            VALUES (gen_random_uuid(), $1, $2, $3, $4, 1, gen_random_uuid(), 'pending', now(), now())
            """, blocker, blocking))
        {
            insert.Parameters.Add(new NpgsqlParameter { Value = player.Id });
            insert.Parameters.Add(new NpgsqlParameter { Value = bet.Command.IdempotencyKey });
            insert.Parameters.Add(new NpgsqlParameter { Value = pool.Id });
            insert.Parameters.Add(new NpgsqlParameter { Value = pool.Outcomes[0] });
            await insert.ExecuteNonQueryAsync();
        }
        // The batch reads the pool from Pools beside its pending write; a first call on a cold channel could still be on
        // its way when the test cancels the pool below, and would answer it closed before any stake moved.
        await stack.BetEngine.GetRequiredService<IPoolDirectory>().GetFreshAsync(pool.Id, default);
        using var hold = stack.StakeHold.Arm(pool.Id);
        IReadOnlyList<PlacementResult>? results = null;
        var running = Pipeline.RunAsync(pool.Id, [bet], r => results = r, default);
        Assert.True(await BetEngineStack.EventuallyAsync(() => LockedAsync(WriterWaitsHoldingTheGate)), "The pending write never waited holding the gate.");

        // The pool is cancelled and Settlement begins its snapshot: closing the gate waits for the write in flight.
        await stack.CancelPoolAsync(pool.Id);
        var snapshot = stack.ReadPoolBetsAsync(pool.Id);
        Assert.True(await BetEngineStack.EventuallyAsync(() => LockedAsync(GateCloserWaits)), "Closing the gate did not wait for the pending write.");
        Assert.False(snapshot.IsCompleted);

        // The write goes on and commits; its stake moves (and is held there). The snapshot now sees the bet pending.
        await blocking.RollbackAsync();
        await hold.Reached.WaitAsync(TimeSpan.FromSeconds(30));
        var waiting = await Assert.ThrowsAsync<RpcException>(() => snapshot);
        Assert.Equal("bets-pending", waiting.GetRpcStatus()?.GetDetail<ErrorInfo>()?.Reason);

        hold.Release();
        await running;
        var result = Assert.Single(results!);
        Assert.Equal((Placement.BetStatus.Rejected, BetRejectionCodes.PoolClosed), (result.Bet?.Status, result.Rejection?.Code));
        Assert.Equal(Funds, await stack.BalanceAsync(player.Account));
        Assert.Equal(0, await stack.BalanceAsync(pool.Escrow));
        Assert.Single(await stack.TransferIdsAsync(player.Account), id => id == BetTransferIds.Refund(bet.BetId).ToString());
        await stack.AssertLedgerExactAsync();
        var (totals, _) = await stack.ReadPoolBetsAsync(pool.Id);
        Assert.Equal(0, totals.BetCount);
    }

    /// <summary>A backend holds the pool gate (the two-key advisory lock of class "bets") shared and waits for a row lock.</summary>
    private const string WriterWaitsHoldingTheGate = """
        SELECT EXISTS (SELECT 1 FROM pg_locks gate JOIN pg_locks waiting ON waiting.pid = gate.pid
                       WHERE gate.locktype = 'advisory' AND gate.classid = 1650812019 AND gate.mode = 'ShareLock' AND gate.granted
                         AND waiting.locktype = 'transactionid' AND NOT waiting.granted)
        """;

    /// <summary>A backend waits to take the pool gate exclusively.</summary>
    private const string GateCloserWaits = """
        SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = 1650812019 AND mode = 'ExclusiveLock' AND NOT granted)
        """;

    private async Task<bool> LockedAsync(string sql) => await stack.ScalarAsync($"SELECT ({sql})::int") == 1;

    private static async Task<Guid> ProblemBetIdAsync(HttpResponseMessage response)
    {
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("betId").GetGuid();
    }
}
