using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using StreamBets.BetEngine.Ledger;
using StreamBets.BetEngine.Odds;
using StreamBets.BetEngine.Placement;
using StreamBets.Contracts.Wallet;
using StreamBets.Testing;

namespace StreamBets.BetEngine.Tests;

/// <summary>
/// Crashes are staged by running the real batch steps only up to the crash point (pending rows written; or written and
/// the stakes moved by Wallet.TransferBatch), then letting recovery re-drive what was left. Money moves exactly once.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class RecoveryTests(BetEngineStack stack)
{
    private const long Funds = 10_000;

    private BetBatchPipeline Pipeline => stack.BetEngine.GetRequiredService<BetBatchPipeline>();
    private PendingBetRecovery Recovery => stack.BetEngine.GetRequiredService<PendingBetRecovery>();
    private StakeLedger Ledger => stack.BetEngine.GetRequiredService<StakeLedger>();
    private BatchFinalizer Finalizer => stack.BetEngine.GetRequiredService<BatchFinalizer>();

    public static DateTimeOffset Now(BetEngineStack stack)
    {
        var now = stack.Clock.GetUtcNow();
        return new DateTimeOffset(now.UtcTicks - now.UtcTicks % 10, TimeSpan.Zero);
    }

    [Fact]
    public async Task After_a_start_the_odds_of_every_unfinished_pool_are_published_once_with_their_exact_totals()
    {
        var live = await stack.NewPoolAsync();
        var cancelled = await stack.NewPoolAsync();
        var players = await stack.NewPlayersAsync(2, Funds);
        Assert.Equal(HttpStatusCode.Created, (await stack.BetClient(players[0]).PlaceAsync(live, live.Outcomes[1], 700)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await stack.BetClient(players[1]).PlaceAsync(cancelled, cancelled.Outcomes[0], 300)).StatusCode);
        await stack.CancelPoolAsync(cancelled.Id);
        Assert.True(await BetEngineStack.EventuallyAsync(async () =>
            await stack.ScalarAsync("SELECT count(*) FROM finished_pools WHERE pool_id = $1", cancelled.Id) == 1));
        Assert.True(await BetEngineStack.EventuallyAsync(async () => (await OddsOfAsync(live)).Count == 1 && (await OddsOfAsync(cancelled)).Count == 1));

        // The process that wrote them is gone, and with it what the Redis hash held: a new one starts.
        var redis = stack.BetEngine.GetRequiredService<IConnectionMultiplexer>().GetDatabase();
        await redis.KeyDeleteAsync(LiveTotals.Key(live.Id));
        await stack.BetEngine.GetRequiredService<OddsPublisher>().MarkUnfinishedPoolsAsync(default);

        Assert.True(await BetEngineStack.EventuallyAsync(async () => (await OddsOfAsync(live)).Count == 2), "The live pool's odds were not published again.");
        var again = (await OddsOfAsync(live))[1];
        Assert.Equal(700, again.GetProperty("totalStakedMinor").GetInt64());
        Assert.True(await BetEngineStack.EventuallyAsync(async () =>
            (await stack.BetEngine.GetRequiredService<LiveTotals>().GetAsync(live.Id)).GetValueOrDefault(live.Outcomes[1]) == (700L, 1L)));
        // A finished pool's odds are final: not published again (marked with the live pool, it would be in the same write).
        Assert.Single(await OddsOfAsync(cancelled));

        Task<List<JsonElement>> OddsOfAsync(TestPool pool) => stack.PublishedAsync("bets", "streambets.bets.odds-changed.v1", pool.Id);
    }

    [Fact]
    public async Task Bets_left_pending_by_a_crash_before_the_ledger_call_are_redriven_exactly_once()
    {
        var (pool, players, batch) = await StageAsync();
        await Pipeline.WritePendingAsync(pool.Id, batch, default); // ...and the process dies here

        Assert.Equal(3, await stack.BetsOfPoolAsync(pool.Id, "pending"));
        Assert.Equal(1, await stack.PendingBatchesOfPoolAsync(pool.Id));
        Assert.Equal(0, await stack.BalanceAsync(pool.Escrow));

        await Recovery.RecoverAsync(TimeSpan.Zero, default);
        await Recovery.RecoverAsync(TimeSpan.Zero, default); // a second round finds nothing left to do

        await AssertAcceptedOnceAsync(pool, players, batch);
        Assert.Equal(0, await stack.PendingBatchesOfPoolAsync(pool.Id));
    }

    [Fact]
    public async Task Recovery_is_traced_with_its_ledger_call_under_it()
    {
        var (pool, _, batch) = await StageAsync();
        await Pipeline.WritePendingAsync(pool.Id, batch, default); // ...and the process dies here
        using var betEngine = new RecordedActivities(BetBatchPipeline.ActivitySource.Name);
        using var calls = new RecordedActivities("System.Net.Http");

        await Recovery.RecoverAsync(TimeSpan.Zero, default);

        var recovery = Assert.Single(betEngine.Stopped, a => a.OperationName == "recover pending bets" && Equals(a.GetTagItem("streambets.pool_id"), pool.Id));
        Assert.Equal(default, recovery.ParentSpanId); // a trace of its own, not a child of whatever ran before
        Assert.Contains(calls.Stopped, call => call.TraceId == recovery.TraceId); // Wallet.TransferBatch, and the Pools read
    }

    [Fact]
    public async Task Bets_left_pending_by_a_crash_after_the_ledger_call_are_accepted_without_moving_money_twice()
    {
        var (pool, players, batch) = await StageAsync();
        await Pipeline.WritePendingAsync(pool.Id, batch, default);
        var moved = await Ledger.MoveStakesAsync([.. batch.Select(b => b.ToPending())], default); // ...and the process dies here
        Assert.All(moved, m => Assert.Equal(StakeMovement.Moved, m.Movement));
        Assert.Equal(batch.Sum(b => b.Command.StakeMinor), await stack.BalanceAsync(pool.Escrow));

        await Recovery.RecoverAsync(TimeSpan.Zero, default);
        await Recovery.RecoverAsync(TimeSpan.Zero, default);

        await AssertAcceptedOnceAsync(pool, players, batch);
    }

    [Fact]
    public async Task A_pending_bet_that_arrived_after_a_lock_by_hand_is_rejected_by_recovery_with_its_moved_stake_refunded()
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync(Funds);
        await stack.LockPoolAsync(pool.Id);
        // A stale snapshot admitted the bet after the lock; its batch wrote it, moved the stake and died.
        var late = stack.Admit(player, pool, pool.Outcomes[0], 800);
        await Pipeline.WritePendingAsync(pool.Id, [late], default);
        await Ledger.MoveStakesAsync([late.ToPending()], default);

        await Recovery.RecoverAsync(TimeSpan.Zero, default);

        Assert.Equal(1, await stack.ScalarAsync(
            "SELECT count(*) FROM bets WHERE bet_id = $1 AND status = 'rejected' AND rejection_code = 'pool-locked' AND refund_status = 'done'" +
            " AND rejection_detail LIKE '%stake was returned%'", late.BetId));
        Assert.Equal(Funds, await stack.BalanceAsync(player.Account));
        Assert.Equal(0, await stack.BalanceAsync(pool.Escrow));
        await stack.AssertLedgerExactAsync();
    }

    [Fact]
    public async Task Finalizing_bets_another_finalizer_already_decided_changes_nothing_and_answers_what_is_stored()
    {
        var (pool, players, batch) = await StageAsync();
        await Pipeline.RunAsync(pool.Id, batch, _ => { }, default); // the live batch decides the bets...

        // ...and recovery, which took them while still pending, finalizes them late (its stake replays moved nothing).
        var late = await Finalizer.FinalizeAsync(pool.Id, [.. batch.Select(b => new StakeDecision(b.ToPending(), StakeMovement.Moved))], default);

        Assert.Equal(batch.Select(b => (b.BetId, BetStatus.Accepted)), late.Bets.Select(b => (b.BetId, b.Status)));
        Assert.Empty(late.NewlyAccepted);
        Assert.Empty(late.RefundsDue);
        await AssertAcceptedOnceAsync(pool, players, batch); // totals and BetsPlaced counted once
    }

    [Fact]
    public async Task A_second_outcome_race_between_two_batches_refunds_the_losing_stake_with_a_derived_transfer_id()
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync(Funds);
        // Two replicas each admitted one bet of the same player, on different outcomes, and each moved its stake.
        var first = stack.Admit(player, pool, pool.Outcomes[0], 600);
        var second = stack.Admit(player, pool, pool.Outcomes[1], 900);
        await Pipeline.WritePendingAsync(pool.Id, [first], default);
        await Pipeline.WritePendingAsync(pool.Id, [second], default);
        await Ledger.MoveStakesAsync([first.ToPending(), second.ToPending()], default);

        var won = await Finalizer.FinalizeAsync(pool.Id, [new StakeDecision(first.ToPending(), StakeMovement.Moved)], default);
        var lost = await Finalizer.FinalizeAsync(pool.Id, [new StakeDecision(second.ToPending(), StakeMovement.Moved)], default);
        await Pipeline.CompleteAsync(pool.Id, lost, default);

        Assert.Equal(Placement.BetStatus.Accepted, won.Bets.Single().Status);
        Assert.Equal(BetRejectionCodes.SecondOutcome, lost.Bets.Single().Rejection?.Code);
        Assert.Equal(Funds - 600, await stack.BalanceAsync(player.Account));
        Assert.Equal(600, await stack.BalanceAsync(pool.Escrow));
        Assert.Contains(BetTransferIds.Refund(second.BetId).ToString(), await stack.TransferIdsAsync(player.Account));
        Assert.Equal(1, await stack.ScalarAsync("SELECT count(*) FROM bets WHERE bet_id = $1 AND refund_status = 'done'", second.BetId));
    }

    [Fact]
    public async Task A_refund_left_due_by_a_crash_is_given_back_once_by_recovery()
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync(Funds);
        var first = stack.Admit(player, pool, pool.Outcomes[0], 600);
        var second = stack.Admit(player, pool, pool.Outcomes[1], 900);
        await Pipeline.WritePendingAsync(pool.Id, [first, second], default);
        await Ledger.MoveStakesAsync([first.ToPending(), second.ToPending()], default);
        await Finalizer.FinalizeAsync(pool.Id, [new StakeDecision(first.ToPending(), StakeMovement.Moved), new StakeDecision(second.ToPending(), StakeMovement.Moved)], default);
        Assert.Equal(Funds - 1_500, await stack.BalanceAsync(player.Account)); // ...and the process dies before refunding

        await Recovery.RecoverAsync(TimeSpan.Zero, default);
        await Recovery.RecoverAsync(TimeSpan.Zero, default);

        Assert.Equal(Funds - 600, await stack.BalanceAsync(player.Account));
        Assert.Equal(600, await stack.BalanceAsync(pool.Escrow));
        Assert.Single(await stack.TransferIdsAsync(player.Account), id => id == BetTransferIds.Refund(second.BetId).ToString());
    }

    [Fact]
    public async Task A_moved_stake_whose_bet_lost_its_outcome_while_pending_is_refunded_by_recovery()
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync(Funds);
        var first = stack.Admit(player, pool, pool.Outcomes[0], 600);
        await Pipeline.WritePendingAsync(pool.Id, [first], default);
        await Ledger.MoveStakesAsync([first.ToPending()], default); // ...and the process dies here
        // Meanwhile the player, told "pending", backs the other outcome; nothing stored claims an outcome yet, so it stands.
        Assert.Equal(HttpStatusCode.Created, (await stack.BetClient(player).PlaceAsync(pool, pool.Outcomes[1], 900)).StatusCode);

        await Recovery.RecoverAsync(TimeSpan.Zero, default);
        await Recovery.RecoverAsync(TimeSpan.Zero, default);

        Assert.Equal(1, await stack.ScalarAsync(
            "SELECT count(*) FROM bets WHERE bet_id = $1 AND status = 'rejected' AND rejection_code = 'second-outcome' AND refund_status = 'done'", first.BetId));
        Assert.Equal(Funds - 900, await stack.BalanceAsync(player.Account));
        Assert.Equal(900, await stack.BalanceAsync(pool.Escrow));
        Assert.Single(await stack.TransferIdsAsync(player.Account), id => id == BetTransferIds.Refund(first.BetId).ToString());
        await stack.AssertLedgerExactAsync();
    }

    [Fact]
    public async Task A_bet_held_back_for_a_second_outcome_before_a_crash_is_rejected_by_recovery_with_its_money_back()
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync(Funds);
        var first = stack.Admit(player, pool, pool.Outcomes[0], 600);
        var second = stack.Admit(player, pool, pool.Outcomes[1], 900);
        await Pipeline.WritePendingAsync(pool.Id, [first, second], default);
        await Ledger.MoveStakesAsync([first.ToPending()], default); // the batch held the second back, and died

        await Recovery.RecoverAsync(TimeSpan.Zero, default);
        await Recovery.RecoverAsync(TimeSpan.Zero, default);

        Assert.Equal(1, await stack.ScalarAsync("SELECT count(*) FROM bets WHERE bet_id = $1 AND status = 'accepted'", first.BetId));
        Assert.Equal(1, await stack.ScalarAsync(
            "SELECT count(*) FROM bets WHERE bet_id = $1 AND status = 'rejected' AND rejection_code = 'second-outcome'", second.BetId));
        Assert.Equal(Funds - 600, await stack.BalanceAsync(player.Account));
        Assert.Equal(600, await stack.BalanceAsync(pool.Escrow));
        await stack.AssertLedgerExactAsync();
    }

    public enum Interleaving
    {
        /// <summary>The live batch finalizes before recovery takes its bets.</summary>
        LiveBatchFirst,

        /// <summary>Recovery takes the bets, resends their stakes and decides them while the live batch waits for the ledger.</summary>
        RecoveryFirst,

        /// <summary>Recovery takes the bets and resends their stakes; the ledger applies them, but recovery never learns it
        /// (its answer lost, or its process dies) while the live batch finalizes.</summary>
        RecoveryDiesAfterItsLedgerCall,
    }

    [Theory]
    [InlineData(Interleaving.LiveBatchFirst)]
    [InlineData(Interleaving.RecoveryFirst)]
    [InlineData(Interleaving.RecoveryDiesAfterItsLedgerCall)]
    public async Task A_slow_live_batch_and_recovery_leave_no_stake_in_escrow_without_an_accepted_bet_and_tell_the_player_the_truth(Interleaving interleaving)
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync(Funds);
        var first = stack.Admit(player, pool, pool.Outcomes[0], 600);
        var second = stack.Admit(player, pool, pool.Outcomes[1], 900);
        // The live batch writes both bets pending, holds the second back (a second outcome) and sends the first's stake;
        // the ledger applies it, and its answer is slow.
        using var liveHold = stack.StakeHold.Arm(pool.Id);
        IReadOnlyList<PlacementResult> told = [];
        var live = Pipeline.RunAsync(pool.Id, [first, second], answers => told = answers, default);
        await liveHold.Reached.WaitAsync(TimeSpan.FromSeconds(30));

        switch (interleaving)
        {
            case Interleaving.LiveBatchFirst:
                liveHold.Release();
                await live;
                await Recovery.RecoverAsync(TimeSpan.Zero, default);
                break;
            case Interleaving.RecoveryFirst:
                await Recovery.RecoverAsync(TimeSpan.Zero, default);
                liveHold.Release();
                await live;
                break;
            case Interleaving.RecoveryDiesAfterItsLedgerCall:
                var recoveryHold = stack.StakeHold.Arm(pool.Id);
                var recovering = Recovery.RecoverAsync(TimeSpan.Zero, default);
                await recoveryHold.Reached.WaitAsync(TimeSpan.FromSeconds(30)); // both stakes sent again, and applied
                liveHold.Release();
                await live;
                recoveryHold.LoseAnswer();
                await recovering;
                break;
        }
        var toldNow = told.Select(a => (a.Bet?.Status, a.Rejection?.Code)).ToArray();
        await Recovery.RecoverAsync(TimeSpan.Zero, default); // the next round, whatever happened before

        Assert.Equal(1, await stack.ScalarAsync("SELECT count(*) FROM bets WHERE bet_id = $1 AND status = 'accepted'", first.BetId));
        Assert.Equal(1, await stack.ScalarAsync(
            "SELECT count(*) FROM bets WHERE bet_id = $1 AND status = 'rejected' AND rejection_code = 'second-outcome' AND refund_status IS DISTINCT FROM 'due'",
            second.BetId));
        Assert.Equal(0, await stack.PendingBatchesOfPoolAsync(pool.Id));
        // The escrow holds the accepted stake and nothing else; the player has the rest.
        Assert.Equal(600, await stack.BalanceAsync(pool.Escrow));
        Assert.Equal(Funds - 600, await stack.BalanceAsync(player.Account));
        await stack.AssertLedgerExactAsync();
        // And what the live batch told the player is true: the decision, or "pending" while recovery owns the bet.
        Assert.Equal(interleaving == Interleaving.RecoveryDiesAfterItsLedgerCall
            ? [(BetStatus.Pending, null), (BetStatus.Pending, null)]
            : new (BetStatus?, string?)[] { (BetStatus.Accepted, null), (BetStatus.Rejected, BetRejectionCodes.SecondOutcome) }, toldNow);
    }

    [Fact]
    public async Task A_recoverer_that_stalls_past_the_grace_period_leaves_the_bet_to_the_newer_claim_and_never_rejects_a_stake_into_escrow()
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync(fundsMinor: 0);
        var bet = stack.Admit(player, pool, pool.Outcomes[0], 700);
        await Pipeline.WritePendingAsync(pool.Id, [bet], default); // ...and the process dies here

        // R1 claims the bet and replays its stake: INSUFFICIENT_FUNDS (the ledger stores no refusal), and R1 stalls.
        using var r1Hold = stack.StakeHold.Arm(pool.Id);
        var r1 = Recovery.RecoverAsync(TimeSpan.Zero, default);
        await r1Hold.Reached.WaitAsync(TimeSpan.FromSeconds(30));

        // Past R1's grace period (zero here) the player deposits, and R2, another replica, claims the bet again: its
        // replay applies, and its answer is lost.
        await stack.Wallet.TransferAsync(new TransferRequest
        {
            TransferId = Guid.NewGuid().ToString(),
            Reason = "sandbox-credit",
            Legs = { new Leg { FromAccount = "psp:clearing", ToAccount = player.Account, AmountMinor = Funds } },
        });
        var r2Recovery = ActivatorUtilities.CreateInstance<PendingBetRecovery>(stack.BetEngine);
        using (var r2Hold = stack.StakeHold.Arm(pool.Id))
        {
            var r2 = r2Recovery.RecoverAsync(TimeSpan.Zero, default);
            await r2Hold.Reached.WaitAsync(TimeSpan.FromSeconds(30));
            r2Hold.LoseAnswer();
            await r2; // its chunk fails; the bet stays pending under R2's claim
        }
        Assert.Equal(700, await stack.BalanceAsync(pool.Escrow));

        // R1 comes back with its stale answer: the bet is no longer its to decide.
        r1Hold.Release();
        await r1;
        Assert.Equal(1, await stack.ScalarAsync("SELECT count(*) FROM bets WHERE bet_id = $1 AND status = 'pending'", bet.BetId));

        // A later round replays the stake (DUPLICATE: it moved) and accepts the bet.
        await Recovery.RecoverAsync(TimeSpan.Zero, default);
        await Recovery.RecoverAsync(TimeSpan.Zero, default);

        Assert.Equal(1, await stack.ScalarAsync("SELECT count(*) FROM bets WHERE bet_id = $1 AND status = 'accepted'", bet.BetId));
        Assert.Equal(1, await stack.ScalarAsync(
            "SELECT count(*) FROM pool_outcome_totals WHERE pool_id = $1 AND outcome_id = $2 AND staked_minor = 700 AND bet_count = 1", pool.Id, pool.Outcomes[0]));
        async Task<Guid[]> PlacedBetIdsAsync() => [.. (await stack.PublishedAsync("bets", "streambets.bets.bets-placed.v1", pool.Id))
            .SelectMany(e => e.GetProperty("bets").EnumerateArray()).Select(b => b.GetProperty("betId").GetGuid())];
        Assert.True(await BetEngineStack.EventuallyAsync(async () => (await PlacedBetIdsAsync()).Length >= 1));
        Assert.Equal([bet.BetId], await PlacedBetIdsAsync());
        Assert.Equal(0, await stack.PendingBatchesOfPoolAsync(pool.Id));
        Assert.Equal(700, await stack.BalanceAsync(pool.Escrow));
        Assert.Equal(Funds - 700, await stack.BalanceAsync(player.Account));
        await stack.AssertLedgerExactAsync();
    }

    [Fact]
    public async Task A_stalled_recoverer_whose_late_replay_moved_the_stake_decides_the_bet_even_under_a_newer_claim()
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync(fundsMinor: 0);
        var bet = stack.Admit(player, pool, pool.Outcomes[0], 700);
        await Pipeline.WritePendingAsync(pool.Id, [bet], default); // ...and the process dies here

        // R1 claims the bet and stalls before its ledger call.
        var r1Claim = Now(stack);
        Assert.Single(await stack.BetEngine.GetRequiredService<Data.BetStore>().ClaimForRecoveryAsync([bet.BetId], r1Claim, r1Claim, default));

        // Past R1's grace period (zero here) R2 claims the bet again; its replay hears INSUFFICIENT_FUNDS, and R2 stalls.
        using var r2Hold = stack.StakeHold.Arm(pool.Id);
        var r2 = Recovery.RecoverAsync(TimeSpan.Zero, default);
        await r2Hold.Reached.WaitAsync(TimeSpan.FromSeconds(30));

        // The player deposits; R1's replay applies now, and R1 finalizes first: a moved stake is final, so the bet is its to
        // decide even under R2's newer claim (left to R2, it would be rejected with nothing to refund).
        await stack.Wallet.TransferAsync(new TransferRequest
        {
            TransferId = Guid.NewGuid().ToString(),
            Reason = "sandbox-credit",
            Legs = { new Leg { FromAccount = "psp:clearing", ToAccount = player.Account, AmountMinor = Funds } },
        });
        var replayed = await Ledger.MoveStakesAsync([bet.ToPending()], default);
        Assert.Equal(StakeMovement.Moved, Assert.Single(replayed).Movement);
        var r1 = await Finalizer.FinalizeClaimedAsync(pool.Id, [new StakeDecision(bet.ToPending(), StakeMovement.Moved)], r1Claim, default);
        Assert.Equal(BetStatus.Accepted, Assert.Single(r1.Bets).Status);

        // R2 comes back with its stale answer: the bet is decided, and stays so.
        r2Hold.Release();
        await r2;
        await Recovery.RecoverAsync(TimeSpan.Zero, default);

        Assert.Equal(1, await stack.ScalarAsync("SELECT count(*) FROM bets WHERE bet_id = $1 AND status = 'accepted'", bet.BetId));
        Assert.Equal(1, await stack.ScalarAsync(
            "SELECT count(*) FROM pool_outcome_totals WHERE pool_id = $1 AND outcome_id = $2 AND staked_minor = 700 AND bet_count = 1", pool.Id, pool.Outcomes[0]));
        Assert.Equal(700, await stack.BalanceAsync(pool.Escrow));
        Assert.Equal(Funds - 700, await stack.BalanceAsync(player.Account));
        await stack.AssertLedgerExactAsync();
    }

    [Fact]
    public async Task A_pending_bet_of_a_pool_cancelled_meanwhile_is_rejected_and_its_stake_returned()
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync(Funds);
        var bet = stack.Admit(player, pool, pool.Outcomes[0], 700);
        await Pipeline.WritePendingAsync(pool.Id, [bet], default);
        await Ledger.MoveStakesAsync([bet.ToPending()], default); // ...the process dies; meanwhile the pool is cancelled and refunded
        (await stack.PoolsHttp.PostAsync($"/api/pools/{pool.Id}/cancel", null)).EnsureSuccessStatusCode();

        await Recovery.RecoverAsync(TimeSpan.Zero, default);

        Assert.Equal(1, await stack.ScalarAsync(
            "SELECT count(*) FROM bets WHERE bet_id = $1 AND status = 'rejected' AND rejection_code = 'pool-closed' AND refund_status = 'done'", bet.BetId));
        Assert.Equal(Funds, await stack.BalanceAsync(player.Account));
        Assert.Equal(0, await stack.BalanceAsync(pool.Escrow));
        Assert.Single(await stack.TransferIdsAsync(player.Account), id => id == BetTransferIds.Refund(bet.BetId).ToString());
        await stack.AssertLedgerExactAsync();
    }

    private async Task<(TestPool Pool, TestPlayer[] Players, AdmittedBet[] Batch)> StageAsync()
    {
        var pool = await stack.NewPoolAsync();
        var players = await stack.NewPlayersAsync(3, Funds);
        var batch = players.Select((p, i) => stack.Admit(p, pool, pool.Outcomes[i % 2], 400 + 100 * i)).ToArray();
        return (pool, players, batch);
    }

    private async Task AssertAcceptedOnceAsync(TestPool pool, TestPlayer[] players, AdmittedBet[] batch)
    {
        var total = batch.Sum(b => b.Command.StakeMinor);
        Assert.Equal(3, await stack.BetsOfPoolAsync(pool.Id, "accepted"));
        Assert.Equal(total, await stack.BalanceAsync(pool.Escrow));
        for (var i = 0; i < players.Length; i++)
        {
            Assert.Equal(Funds - batch[i].Command.StakeMinor, await stack.BalanceAsync(players[i].Account));
        }
        Assert.Equal(total, await stack.ScalarAsync("SELECT sum(staked_minor) FROM pool_outcome_totals WHERE pool_id = $1", pool.Id));
        var liveTotals = stack.BetEngine.GetRequiredService<LiveTotals>();
        Assert.True(await BetEngineStack.EventuallyAsync(async () => (await liveTotals.GetAsync(pool.Id)).Values.Sum(v => v.StakedMinor) == total));
        // Each bet in exactly one BetsPlaced on the bus, however many recovery rounds ran.
        async Task<Guid[]> PlacedBetIdsAsync() => [.. (await stack.PublishedAsync("bets", "streambets.bets.bets-placed.v1", pool.Id))
            .SelectMany(e => e.GetProperty("bets").EnumerateArray()).Select(b => b.GetProperty("betId").GetGuid())];
        Assert.True(await BetEngineStack.EventuallyAsync(async () => (await PlacedBetIdsAsync()).Length >= 3));
        var placedIds = await PlacedBetIdsAsync();
        Assert.Equal(3, placedIds.Length);
        Assert.Equal(3, placedIds.Distinct().Count());
    }
}
