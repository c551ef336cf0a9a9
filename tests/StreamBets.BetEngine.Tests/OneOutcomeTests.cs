using System.Net;
using Microsoft.Extensions.DependencyInjection;
using StreamBets.BetEngine.Eligibility;
using StreamBets.BetEngine.Placement;
using StreamBets.BetEngine.Pools;

namespace StreamBets.BetEngine.Tests;

/// <summary>A player backs the first outcome one of their stakes actually moved on: a bet the ledger refused backs nothing.</summary>
[Collection(StackCollection.Name)]
public sealed class OneOutcomeTests(BetEngineStack stack)
{
    private const long Funds = 500;

    [Fact]
    public async Task A_bet_refused_for_funds_backs_no_outcome_so_the_players_next_bet_in_the_same_batch_stands()
    {
        var pool = await stack.NewPoolAsync();
        var (opener, player) = (await stack.NewPlayerAsync(10_000), await stack.NewPlayerAsync(Funds));
        // Warm caches: the cheap rules pass at once, so the player's bets are queued as soon as they are sent.
        await stack.BetEngine.GetRequiredService<IPoolDirectory>().GetAsync(pool.Id, default);
        await stack.BetEngine.GetRequiredService<EligibilityCache>().CheckAsync(player.Id, null, default);
        var client = stack.BetClient(player);

        // Another player's batch is held in the ledger, so the player's two bets queue behind it and form the next batch.
        using var hold = stack.StakeHold.Arm(pool.Id);
        Task<HttpResponseMessage> tooMuch, affordable;
        try
        {
            var opening = stack.BetClient(opener).PlaceAsync(pool, pool.Outcomes[0], 300);
            await hold.Reached.WaitAsync(TimeSpan.FromSeconds(30));
            var batchers = stack.BetEngine.GetRequiredService<PoolBatchers>();
            tooMuch = client.PlaceAsync(pool, pool.Outcomes[0], 1_000);
            // Placed in this order: the second is sent once the first is queued (admitted, so it arrived first).
            Assert.True(await BetEngineStack.EventuallyAsync(() => Task.FromResult(batchers.QueuedBets(pool.Id) == 1)), "The first bet was never queued.");
            affordable = client.PlaceAsync(pool, pool.Outcomes[1], 200);
            Assert.True(await BetEngineStack.EventuallyAsync(() => Task.FromResult(batchers.QueuedBets(pool.Id) == 2)), "The second bet was never queued.");
            hold.Release();
            Assert.Equal(HttpStatusCode.Created, (await opening).StatusCode);
        }
        finally
        {
            hold.Release();
        }

        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await tooMuch).StatusCode);
        Assert.Equal(BetRequests.Problem("insufficient-funds"), await (await tooMuch).ProblemTypeAsync());
        Assert.Equal(HttpStatusCode.Created, (await affordable).StatusCode);
        // Both were in one batch (one pending write), which is what the rule is about.
        Assert.Equal(1, await stack.ScalarAsync("SELECT count(DISTINCT written_at) FROM bets WHERE user_id = $1", player.Id));
        Assert.Equal(Funds - 200, await stack.BalanceAsync(player.Account));
        Assert.Equal(500, await stack.BalanceAsync(pool.Escrow));
        // Held back until the first stake was refused, then sent: never moved and refunded.
        Assert.Equal(2, (await stack.TransferIdsAsync(player.Account)).Count);
        await stack.AssertLedgerExactAsync();
    }

    [Fact]
    public async Task A_bet_on_a_second_outcome_in_the_same_batch_is_still_refused_before_its_stake_moves()
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync(10_000);
        var first = stack.Admit(player, pool, pool.Outcomes[0], 600);
        var second = stack.Admit(player, pool, pool.Outcomes[1], 900) with { ArrivedAt = first.ArrivedAt.AddMilliseconds(1) };
        var more = stack.Admit(player, pool, pool.Outcomes[0], 100) with { ArrivedAt = first.ArrivedAt.AddMilliseconds(2) };

        IReadOnlyList<PlacementResult> answers = [];
        await stack.BetEngine.GetRequiredService<BetBatchPipeline>().RunAsync(pool.Id, [first, second, more], results => answers = results, default);

        Assert.True(answers[0].IsAccepted);
        Assert.Equal(BetRejectionCodes.SecondOutcome, answers[1].Rejection?.Code);
        Assert.True(answers[2].IsAccepted);
        Assert.Equal(10_000 - 700, await stack.BalanceAsync(player.Account));
        Assert.Equal(3, (await stack.TransferIdsAsync(player.Account)).Count); // funding and two stakes: nothing refunded
        await stack.AssertLedgerExactAsync();
    }

    [Fact]
    public async Task A_player_whose_stakes_on_two_outcomes_were_refused_has_a_third_refused_unsent_not_another_ledger_call()
    {
        var (pool, player, first, second, third) = await TwoOutcomesTooDearAndAThirdAsync();

        IReadOnlyList<PlacementResult> answers = [];
        await stack.BetEngine.GetRequiredService<BetBatchPipeline>().RunAsync(pool.Id, [first, second, third], results => answers = results, default);

        Assert.Equal(BetRejectionCodes.InsufficientFunds, answers[0].Rejection?.Code);
        Assert.Equal(BetRejectionCodes.InsufficientFunds, answers[1].Rejection?.Code);
        Assert.Equal(BetRejectionCodes.SecondOutcome, answers[2].Rejection?.Code);
        Assert.Equal(CappedDetail, answers[2].Rejection?.Detail);
        Assert.Equal(Funds, await stack.BalanceAsync(player.Account));
        await stack.AssertLedgerExactAsync();
    }

    [Fact]
    public async Task Recovery_refuses_the_third_outcome_of_a_player_whose_stakes_on_two_were_refused_as_a_live_batch_does()
    {
        var (pool, player, first, second, third) = await TwoOutcomesTooDearAndAThirdAsync();
        await stack.BetEngine.GetRequiredService<BetBatchPipeline>().WritePendingAsync(pool.Id, [first, second, third], default); // the process dies

        await stack.BetEngine.GetRequiredService<PendingBetRecovery>().RecoverAsync(TimeSpan.Zero, default);

        foreach (var refused in new[] { first, second })
        {
            Assert.Equal(1, await stack.ScalarAsync(
                "SELECT count(*) FROM bets WHERE bet_id = $1 AND status = 'rejected' AND rejection_code = 'insufficient-funds'", refused.BetId));
        }
        Assert.Equal(1, await stack.ScalarAsync(
            "SELECT count(*) FROM bets WHERE bet_id = $1 AND status = 'rejected' AND rejection_code = 'second-outcome' AND rejection_detail = $2",
            third.BetId, CappedDetail));
        Assert.Equal(Funds, await stack.BalanceAsync(player.Account));
        Assert.Equal(0, await stack.BalanceAsync(pool.Escrow));
        await stack.AssertLedgerExactAsync();
    }

    [Fact]
    public async Task A_third_outcome_held_past_the_last_round_is_told_the_player_backs_another_when_the_second_stake_moved()
    {
        var pool = await stack.NewPoolAsync(outcomes: 3);
        var player = await stack.NewPlayerAsync(Funds);
        var first = stack.Admit(player, pool, pool.Outcomes[0], 1_000);
        var second = stack.Admit(player, pool, pool.Outcomes[1], 100) with { ArrivedAt = first.ArrivedAt.AddMilliseconds(1) };
        var third = stack.Admit(player, pool, pool.Outcomes[2], 100) with { ArrivedAt = first.ArrivedAt.AddMilliseconds(2) };

        IReadOnlyList<PlacementResult> answers = [];
        await stack.BetEngine.GetRequiredService<BetBatchPipeline>().RunAsync(pool.Id, [first, second, third], results => answers = results, default);

        Assert.Equal(BetRejectionCodes.InsufficientFunds, answers[0].Rejection?.Code);
        Assert.True(answers[1].IsAccepted);
        Assert.Equal(BetRejectionCodes.SecondOutcome, answers[2].Rejection?.Code);
        Assert.Equal(BatchFinalizer.SecondOutcome().Detail, answers[2].Rejection?.Detail);
        Assert.Equal(Funds - 100, await stack.BalanceAsync(player.Account));
        await stack.AssertLedgerExactAsync();
    }

    /// <summary>A player with 500 betting 1000 on one outcome, 1000 on a second and 100 on a third, in this order.</summary>
    private async Task<(TestPool Pool, TestPlayer Player, AdmittedBet First, AdmittedBet Second, AdmittedBet Third)> TwoOutcomesTooDearAndAThirdAsync()
    {
        var pool = await stack.NewPoolAsync(outcomes: 3);
        var player = await stack.NewPlayerAsync(Funds);
        var first = stack.Admit(player, pool, pool.Outcomes[0], 1_000);
        var second = stack.Admit(player, pool, pool.Outcomes[1], 1_000) with { ArrivedAt = first.ArrivedAt.AddMilliseconds(1) };
        var third = stack.Admit(player, pool, pool.Outcomes[2], 100) with { ArrivedAt = first.ArrivedAt.AddMilliseconds(2) };
        return (pool, player, first, second, third);
    }

    private const string CappedDetail =
        "Your stakes on two other outcomes of this pool were refused in the same moment; back one outcome at a time.";

    [Fact]
    public async Task Recovery_lets_a_bet_stand_when_the_players_earlier_bet_on_another_outcome_was_refused_for_funds()
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync(Funds);
        var tooMuch = stack.Admit(player, pool, pool.Outcomes[0], 1_000);
        var affordable = stack.Admit(player, pool, pool.Outcomes[1], 200) with { ArrivedAt = tooMuch.ArrivedAt.AddMilliseconds(1) };
        var pipeline = stack.BetEngine.GetRequiredService<BetBatchPipeline>();
        await pipeline.WritePendingAsync(pool.Id, [tooMuch, affordable], default); // both told 202, and the process dies

        await stack.BetEngine.GetRequiredService<PendingBetRecovery>().RecoverAsync(TimeSpan.Zero, default);

        Assert.Equal(1, await stack.ScalarAsync(
            "SELECT count(*) FROM bets WHERE bet_id = $1 AND status = 'rejected' AND rejection_code = 'insufficient-funds'", tooMuch.BetId));
        Assert.Equal(1, await stack.ScalarAsync("SELECT count(*) FROM bets WHERE bet_id = $1 AND status = 'accepted'", affordable.BetId));
        Assert.Equal(Funds - 200, await stack.BalanceAsync(player.Account));
        Assert.Equal(200, await stack.BalanceAsync(pool.Escrow));
        Assert.Equal(2, (await stack.TransferIdsAsync(player.Account)).Count); // funding and the stake: no refund
        await stack.AssertLedgerExactAsync();
    }
}
