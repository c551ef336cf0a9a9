using System.Net;
using Npgsql;

namespace StreamBets.BetEngine.Tests;

/// <summary>Step 3 of a batch, the finalize, when its betsdb connection dies under it (a PostgreSQL restart).</summary>
[Collection(StackCollection.Name)]
public sealed class FinalizeConnectionTests(BetEngineStack stack)
{
    private const long Funds = 10_000;

    [Fact]
    public async Task A_finalize_whose_connection_dies_before_its_commit_runs_again_and_the_bet_is_answered_at_once()
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync(Funds);

        // The batch is held once the ledger moved its stake, and its bet row is locked meanwhile, so the finalize waits
        // on that lock inside its transaction; then its backend is terminated, as a PostgreSQL restart would.
        using var hold = stack.StakeHold.Arm(pool.Id);
        Task<HttpResponseMessage> placing;
        try
        {
            placing = stack.BetClient(player).PlaceAsync(pool, pool.Outcomes[0], 400);
            await hold.Reached.WaitAsync(TimeSpan.FromSeconds(30));
            await using var connection = await stack.BetsDb.OpenConnectionAsync();
            await using var blocking = await connection.BeginTransactionAsync();
            await using (var lockBet = new NpgsqlCommand("SELECT bet_id FROM bets WHERE pool_id = $1 FOR UPDATE", connection, blocking))
            {
                lockBet.Parameters.Add(new NpgsqlParameter { Value = pool.Id });
                await lockBet.ExecuteNonQueryAsync();
            }
            hold.Release();
            Assert.True(await BetEngineStack.EventuallyAsync(async () => await stack.ScalarAsync("""
                SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%AND recovery_claimed_at IS NULL FROM bets%' AND pid <> pg_backend_pid()
                """) > 0), "The finalize never waited on the bet's lock.");
            await blocking.RollbackAsync();
        }
        finally
        {
            hold.Release();
        }

        // Nothing had committed, so the finalize ran again on a fresh connection: accepted now, not pending for recovery.
        var response = await placing.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("accepted", (await response.BetAsync()).Status);
        Assert.Equal(0, await stack.BetsOfPoolAsync(pool.Id, "pending"));
        Assert.Equal(1, await stack.BetsOfPoolAsync(pool.Id, "accepted"));
        Assert.Equal(0, await stack.PendingBatchesOfPoolAsync(pool.Id));
        Assert.Equal(1, await stack.ScalarAsync("SELECT bet_count FROM pool_outcome_totals WHERE pool_id = $1 AND outcome_id = $2", pool.Id, pool.Outcomes[0]));
        Assert.Equal(Funds - 400, await stack.BalanceAsync(player.Account));
        Assert.Equal(400, await stack.BalanceAsync(pool.Escrow));
        await stack.AssertLedgerExactAsync();
    }
}
