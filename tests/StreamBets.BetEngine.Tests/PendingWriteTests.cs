using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using StreamBets.BetEngine.Apis;
using StreamBets.BetEngine.Placement;

namespace StreamBets.BetEngine.Tests;

/// <summary>Step 1 of a batch, the pending write: what each request is told when part of it fails is true.</summary>
[Collection(StackCollection.Name)]
public sealed class PendingWriteTests(BetEngineStack stack)
{
    private const long Funds = 10_000;

    [Fact]
    public async Task When_a_replayed_key_cannot_be_read_back_only_the_replay_is_told_to_retry_and_the_new_bets_are_decided()
    {
        var pool = await stack.NewPoolAsync();
        var (earlier, fresh) = (await stack.NewPlayerAsync(Funds), await stack.NewPlayerAsync(Funds));
        var key = Guid.NewGuid().ToString();
        Assert.Equal(HttpStatusCode.Created, (await stack.BetClient(earlier).PlaceAsync(pool, pool.Outcomes[0], 400, key)).StatusCode);
        // The same request again (its first answer lost), in one batch with another player's new bet.
        var replay = new AdmittedBet(new PlaceBetCommand(earlier.Id, pool.Id, pool.Outcomes[0], 400, key), Guid.CreateVersion7(), RecoveryTests.Now(stack));
        var newBet = stack.Admit(fresh, pool, pool.Outcomes[1], 300);

        // The read-back of the replayed key (it reads bet_settlements, which the pending write does not) waits on a lock,
        // and its connection is cut: the pending write has committed by then.
        await using var connection = await stack.BetsDb.OpenConnectionAsync();
        await using var blocking = await connection.BeginTransactionAsync();
        await using (var lockTable = new NpgsqlCommand("LOCK TABLE bet_settlements IN ACCESS EXCLUSIVE MODE", connection, blocking))
        {
            await lockTable.ExecuteNonQueryAsync();
        }
        IReadOnlyList<PlacementResult> answers = [];
        var running = stack.BetEngine.GetRequiredService<BetBatchPipeline>().RunAsync(pool.Id, [replay, newBet], results => answers = results, default);
        Assert.True(await BetEngineStack.EventuallyAsync(async () => await stack.ScalarAsync("""
            SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%AS k(user_id, key)%' AND pid <> pg_backend_pid()
            """) > 0), "The read-back never waited on the lock.");
        await blocking.RollbackAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(30));

        // The replay is told to retry (nothing was decided for it); the new bet, committed pending, was decided.
        Assert.Equal((null, BetRejectionCodes.DependencyUnavailable), (answers[0].Bet, answers[0].Rejection?.Code));
        Assert.True(answers[1].IsAccepted);
        Assert.Equal(0, await stack.BetsOfPoolAsync(pool.Id, "pending"));
        Assert.Equal(0, await stack.PendingBatchesOfPoolAsync(pool.Id));
        Assert.Equal(Funds - 300, await stack.BalanceAsync(fresh.Account));
        Assert.Equal(Funds - 400, await stack.BalanceAsync(earlier.Account));
        Assert.Equal(700, await stack.BalanceAsync(pool.Escrow));
        // The retry answers the first result.
        var retried = await stack.BetClient(earlier).PlaceAsync(pool, pool.Outcomes[0], 400, key);
        Assert.Equal(HttpStatusCode.Created, retried.StatusCode);
        Assert.Equal("true", retried.Headers.GetValues(BetsApi.ReplayedHeader).Single());
        await stack.AssertLedgerExactAsync();
    }
}
