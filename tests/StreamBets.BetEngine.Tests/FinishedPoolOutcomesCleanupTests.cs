using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StreamBets.BetEngine.Data;
using StreamBets.BetEngine.Placement;

namespace StreamBets.BetEngine.Tests;

/// <summary>
/// The one-outcome rows (pool_user_outcomes) of a pool are deleted once it has been finished for a while and has no
/// pending bet left; an open pool and a finished pool that recovery has not finished keep theirs.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class FinishedPoolOutcomesCleanupTests(BetEngineStack stack)
{
    private const long Funds = 10_000;

    private FinishedPoolOutcomesCleanup Cleanup => stack.BetEngine.GetRequiredService<FinishedPoolOutcomesCleanup>();
    private BetBatchPipeline Pipeline => stack.BetEngine.GetRequiredService<BetBatchPipeline>();
    private TimeSpan KeptFor => stack.BetEngine.GetRequiredService<IOptions<BetEngineOptions>>().Value.FinishedPoolOutcomesKeptFor;

    [Fact]
    public async Task The_one_outcome_rows_of_a_pool_finished_a_day_ago_with_no_pending_bet_are_deleted()
    {
        var players = await stack.NewPlayersAsync(2, Funds);
        var finished = await stack.NewPoolAsync();
        var open = await stack.NewPoolAsync();
        var withPendingBet = await stack.NewPoolAsync();
        foreach (var player in players)
        {
            await PlaceAcceptedAsync(player, finished, finished.Outcomes[0]);
        }
        await PlaceAcceptedAsync(players[0], open, open.Outcomes[0]);
        await PlaceAcceptedAsync(players[0], withPendingBet, withPendingBet.Outcomes[0]);
        // A batch of the last pool wrote a bet pending and died before its ledger call.
        await Pipeline.WritePendingAsync(withPendingBet.Id, [stack.Admit(players[1], withPendingBet, withPendingBet.Outcomes[1], 400)], default);
        await CancelAsync(finished);
        await CancelAsync(withPendingBet);

        // Just finished: kept.
        await Cleanup.CleanUpAsync(KeptFor, default);
        Assert.Equal(2, await RowsAsync(finished));

        await AfterTheMarginAsync(() => Cleanup.CleanUpAsync(KeptFor, default));
        Assert.Equal(0, await RowsAsync(finished));
        Assert.Equal(1, await RowsAsync(open));
        Assert.Equal(1, await RowsAsync(withPendingBet));

        var balance = await stack.BalanceAsync(players[0].Account);
        // The finished pool still takes no bet, on another outcome either: refused by its closed snapshot, and by the gate
        // for a bet that was already in its batch. Nothing is recorded and no money moves.
        using (var refused = await stack.BetClient(players[0]).PlaceAsync(finished, finished.Outcomes[1], 300))
        {
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
            Assert.Equal(BetRequests.Problem("pool-not-open"), await refused.ProblemTypeAsync());
        }
        var late = stack.Admit(players[0], finished, finished.Outcomes[1], 300);
        IReadOnlyList<PlacementResult>? results = null;
        await Pipeline.RunAsync(finished.Id, [late], r => results = r, default);
        var result = Assert.Single(results!);
        Assert.Equal((null, BetRejectionCodes.PoolClosed), (result.Bet, result.Rejection?.Code));
        Assert.Equal(0, await stack.ScalarAsync("SELECT count(*) FROM bets WHERE bet_id = $1", late.BetId));
        Assert.Equal(0, await RowsAsync(finished));
        Assert.Equal(balance, await stack.BalanceAsync(players[0].Account));

        // Once recovery has decided the pending bet (rejected: its pool was cancelled), that pool's rows go too.
        await stack.BetEngine.GetRequiredService<PendingBetRecovery>().RecoverAsync(TimeSpan.Zero, default);
        Assert.Equal(0, await stack.PendingBatchesOfPoolAsync(withPendingBet.Id));
        await AfterTheMarginAsync(() => Cleanup.CleanUpAsync(KeptFor, default));
        Assert.Equal(0, await RowsAsync(withPendingBet));
        Assert.Equal(1, await RowsAsync(open));
        await stack.AssertLedgerExactAsync();
    }

    private async Task PlaceAcceptedAsync(TestPlayer player, TestPool pool, Guid outcome)
    {
        using var response = await stack.BetClient(player).PlaceAsync(pool, outcome, 500);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    private async Task CancelAsync(TestPool pool)
    {
        await stack.CancelPoolAsync(pool.Id);
        Assert.True(await BetEngineStack.EventuallyAsync(async () =>
            await stack.ScalarAsync("SELECT count(*) FROM finished_pools WHERE pool_id = $1", pool.Id) == 1), "The pool was never recorded finished.");
    }

    /// <summary>Runs <paramref name="action"/> with the Bet Engine's clock just past the margin the rows are kept for.</summary>
    private async Task AfterTheMarginAsync(Func<Task> action)
    {
        var by = KeptFor + TimeSpan.FromMinutes(1);
        stack.Clock.Advance(by);
        try
        {
            await action();
        }
        finally
        {
            stack.Clock.Advance(-by);
        }
    }

    private Task<long> RowsAsync(TestPool pool) => stack.ScalarAsync("SELECT count(*) FROM pool_user_outcomes WHERE pool_id = $1", pool.Id);
}
