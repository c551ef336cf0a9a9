using Microsoft.Extensions.DependencyInjection;
using StreamBets.BetEngine.Data;
using StreamBets.BetEngine.Ledger;
using StreamBets.BetEngine.Placement;
using StreamBets.Contracts.Wallet;

namespace StreamBets.BetEngine.Tests;

/// <summary>
/// Two replicas over one betsdb recover the same stale pending bets at the same moment, and a live refund races
/// recovery's refund of the same bet: every stake moves once, every refund is paid once, and the pool's escrow holds
/// exactly the accepted stakes (<see cref="EscrowInvariant"/>).
/// </summary>
[Collection(StackCollection.Name)]
public sealed class RecoveryRaceTests(BetEngineStack stack)
{
    private const long Funds = 10_000;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private BetBatchPipeline Pipeline => stack.BetEngine.GetRequiredService<BetBatchPipeline>();
    private StakeLedger Ledger => stack.BetEngine.GetRequiredService<StakeLedger>();
    private BatchFinalizer Finalizer => stack.BetEngine.GetRequiredService<BatchFinalizer>();

    public enum FinalizeOrder
    {
        /// <summary>The recoverer whose claim was overwritten finalizes first (its replays moved the stakes, so it decides those).</summary>
        OlderClaimFirst,

        /// <summary>The recoverer holding the newer claim finalizes first.</summary>
        NewerClaimFirst,

        /// <summary>Both go on at once and meet in the finalize's row locks.</summary>
        Together,
    }

    [Theory]
    [InlineData(FinalizeOrder.OlderClaimFirst)]
    [InlineData(FinalizeOrder.NewerClaimFirst)]
    [InlineData(FinalizeOrder.Together)]
    public async Task Two_recoverers_redriving_the_same_stale_bets_at_once_move_each_stake_once_and_refund_the_loser_once(FinalizeOrder order)
    {
        var staged = await StageCrashedBatchAsync();
        var (r1, r2) = (new BetEngineReplica(stack, "r1"), new BetEngineReplica(stack, "r2"));

        // Both claim the bets (no grace period: the second claim overwrites the first) and replay their stakes; the ledger
        // applies each once, and both answers wait.
        var h1 = r1.Ledger.Hold(LedgerFault.HoldAfterApplying, ReplicaLedger.CallKind.Stakes);
        var first = r1.Recovery.RecoverAsync(TimeSpan.Zero, default);
        await h1.Reached.WaitAsync(Wait);
        var h2 = r2.Ledger.Hold(LedgerFault.HoldAfterApplying, ReplicaLedger.CallKind.Stakes);
        var second = r2.Recovery.RecoverAsync(TimeSpan.Zero, default);
        await h2.Reached.WaitAsync(Wait);
        Assert.True(SentStakeOf(r1, staged.Insufficient.BetId) && SentStakeOf(r2, staged.Insufficient.BetId), "Both recoverers should have replayed the bets.");

        switch (order)
        {
            case FinalizeOrder.OlderClaimFirst:
                h1.Release();
                await first.WaitAsync(Wait);
                h2.Release();
                await second.WaitAsync(Wait);
                break;
            case FinalizeOrder.NewerClaimFirst:
                h2.Release();
                await second.WaitAsync(Wait);
                h1.Release();
                await first.WaitAsync(Wait);
                break;
            case FinalizeOrder.Together:
                h1.Release();
                h2.Release();
                await Task.WhenAll(first, second).WaitAsync(Wait);
                break;
        }
        await r1.Recovery.RecoverAsync(TimeSpan.Zero, default); // whatever either left, the next round finishes

        await AssertRecoveredOnceAsync(staged);
    }

    [Fact]
    public async Task A_second_recoverer_inside_the_grace_period_of_a_stalled_claim_leaves_the_bets_to_it()
    {
        var staged = await StageCrashedBatchAsync();
        var (r1, r2) = (new BetEngineReplica(stack, "r1"), new BetEngineReplica(stack, "r2"));
        var grace = TimeSpan.FromMinutes(1);
        var ahead = TimeSpan.FromMinutes(2); // the batch is stale: written longer ago than the grace period
        stack.Clock.Advance(ahead);
        try
        {
            var h1 = r1.Ledger.Hold(LedgerFault.HoldAfterApplying, ReplicaLedger.CallKind.Stakes);
            var first = r1.Recovery.RecoverAsync(grace, default);
            await h1.Reached.WaitAsync(Wait);

            // r1's claim is younger than the grace period: r2 takes none of the bets and sends none of their stakes.
            await r2.Recovery.RecoverAsync(grace, default).WaitAsync(Wait);
            Assert.DoesNotContain(r2.Ledger.Calls, c => c.Request.Transfers.Any(t => staged.All.Any(b => t.Reference == $"bet:{b.BetId}")));
            Assert.Equal(4, await stack.BetsOfPoolAsync(staged.Pool.Id, "pending"));

            h1.Release();
            await first.WaitAsync(Wait);
            await r2.Recovery.RecoverAsync(grace, default);
        }
        finally
        {
            stack.Clock.Advance(-ahead);
        }

        await AssertRecoveredOnceAsync(staged);
    }

    public enum RefundRace
    {
        /// <summary>The live refund is held on its way to the ledger; recovery pays it meanwhile; then the live one arrives (DUPLICATE).</summary>
        LiveHeldBeforeTheLedger,

        /// <summary>The ledger pays the live refund, whose answer is slow; recovery sends it again meanwhile (DUPLICATE).</summary>
        LiveAnswerSlow,

        /// <summary>As above, and the live answer is lost in the end.</summary>
        LiveAnswerLost,

        /// <summary>The ledger pays the live refund, whose answer is slow; recovery's try is refused (a refusal the ledger does
        /// not store), and recovery puts it off; then the live answer arrives.</summary>
        RecoveryRefusedWhileLivePaid,
    }

    [Theory]
    [InlineData(RefundRace.LiveHeldBeforeTheLedger)]
    [InlineData(RefundRace.LiveAnswerSlow)]
    [InlineData(RefundRace.LiveAnswerLost)]
    [InlineData(RefundRace.RecoveryRefusedWhileLivePaid)]
    public async Task A_live_refund_racing_recoverys_refund_of_the_same_bet_pays_it_back_once(RefundRace race)
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync(Funds);
        // Two replicas each admitted one bet of the player, on two outcomes, and each moved its stake; the second to
        // finalize loses its outcome and owes the refund.
        var won = stack.Admit(player, pool, pool.Outcomes[0], 600);
        var lost = stack.Admit(player, pool, pool.Outcomes[1], 900);
        await Pipeline.WritePendingAsync(pool.Id, [won], default);
        await Pipeline.WritePendingAsync(pool.Id, [lost], default);
        await Ledger.MoveStakesAsync([won.ToPending(), lost.ToPending()], default);
        await Finalizer.FinalizeAsync(pool.Id, [new StakeDecision(won.ToPending(), StakeMovement.Moved)], default);
        var loser = await Finalizer.FinalizeAsync(pool.Id, [new StakeDecision(lost.ToPending(), StakeMovement.Moved)], default);
        Assert.Equal([lost.BetId], loser.RefundsDue.Select(b => b.BetId));

        var (live, recoverer) = (new BetEngineReplica(stack, "live"), new BetEngineReplica(stack, "recovery"));
        var hold = live.Ledger.Hold(race == RefundRace.LiveHeldBeforeTheLedger ? LedgerFault.HoldBeforeApplying : LedgerFault.HoldAfterApplying,
            ReplicaLedger.CallKind.Refunds);
        var refunding = live.Pipeline.CompleteAsync(pool.Id, loser, default);
        await hold.Reached.WaitAsync(Wait);

        if (race == RefundRace.RecoveryRefusedWhileLivePaid)
        {
            recoverer.Ledger.Next(LedgerFault.RefuseRefunds, ReplicaLedger.CallKind.Refunds);
        }
        await recoverer.Recovery.RecoverAsync(TimeSpan.Zero, default); // the refund is due, and recovery's grace is over
        Assert.Contains(recoverer.Ledger.Calls, c => c.Request.Transfers.Any(t => t.TransferId == BetTransferIds.Refund(lost.BetId).ToString()));

        if (race == RefundRace.LiveAnswerLost)
        {
            hold.LoseAnswer();
        }
        else
        {
            hold.Release();
        }
        await refunding.WaitAsync(Wait);

        // However it went, later rounds (past any wait after a refusal) find nothing more to pay.
        var by = BetStore.RefundRetryFirstWait + TimeSpan.FromSeconds(1);
        stack.Clock.Advance(by);
        try
        {
            await recoverer.Recovery.RecoverAsync(TimeSpan.Zero, default);
            await live.Recovery.RecoverAsync(TimeSpan.Zero, default);
        }
        finally
        {
            stack.Clock.Advance(-by);
        }

        Assert.Equal(1, await stack.ScalarAsync("SELECT count(*) FROM bets WHERE bet_id = $1 AND status = 'rejected' AND refund_status = 'done'", lost.BetId));
        var money = (await EscrowInvariant.ReadAsync(stack, pool.Id)).Single(b => b.BetId == lost.BetId);
        Assert.Equal((1, 1), (money.StakeTransfers, money.RefundTransfers)); // the refund was sent twice and applied once
        Assert.Equal(Funds - 600, await stack.BalanceAsync(player.Account));
        Assert.Equal(600, await stack.BalanceAsync(pool.Escrow));
        await EscrowInvariant.AssertAsync(stack, pool, settled: true);
    }

    private static bool SentStakeOf(BetEngineReplica replica, Guid betId) =>
        replica.Ledger.Calls.Any(c => c.Request.Transfers.Any(t => t.Reason == StakeLedger.StakeReason && t.Reference == $"bet:{betId}"));

    private sealed record Staged(TestPool Pool, TestPlayer Backer, TestPlayer Other, TestPlayer Poor,
        AdmittedBet Won, AdmittedBet SecondOutcome, AdmittedBet Accepted, AdmittedBet Insufficient)
    {
        public AdmittedBet[] All => [Won, SecondOutcome, Accepted, Insufficient];
    }

    /// <summary>
    /// A batch written pending whose replica died: one player's bets on two outcomes (both stakes moved, as replays of a
    /// recoverer that died can leave them), another player's bet (moved), and a bet its player cannot fund (not moved).
    /// </summary>
    private async Task<Staged> StageCrashedBatchAsync()
    {
        var pool = await stack.NewPoolAsync();
        var (backer, other, poor) = (await stack.NewPlayerAsync(Funds), await stack.NewPlayerAsync(Funds), await stack.NewPlayerAsync(300));
        var won = stack.Admit(backer, pool, pool.Outcomes[0], 600);
        var secondOutcome = stack.Admit(backer, pool, pool.Outcomes[1], 900) with { ArrivedAt = won.ArrivedAt + TimeSpan.FromMilliseconds(1) };
        var accepted = stack.Admit(other, pool, pool.Outcomes[1], 500);
        var insufficient = stack.Admit(poor, pool, pool.Outcomes[0], 400);
        await Pipeline.WritePendingAsync(pool.Id, [won, secondOutcome, accepted, insufficient], default);
        await Ledger.MoveStakesAsync([won.ToPending(), secondOutcome.ToPending(), accepted.ToPending()], default); // ...and it dies here
        return new Staged(pool, backer, other, poor, won, secondOutcome, accepted, insufficient);
    }

    private async Task AssertRecoveredOnceAsync(Staged staged)
    {
        var bets = (await EscrowInvariant.ReadAsync(stack, staged.Pool.Id)).ToDictionary(b => b.BetId);
        Assert.Equal(("accepted", (string?)null), (bets[staged.Won.BetId].Status, bets[staged.Won.BetId].RejectionCode));
        Assert.Equal(("accepted", (string?)null), (bets[staged.Accepted.BetId].Status, bets[staged.Accepted.BetId].RejectionCode));
        Assert.Equal(("rejected", BetRejectionCodes.SecondOutcome, "done", 1),
            (bets[staged.SecondOutcome.BetId].Status, bets[staged.SecondOutcome.BetId].RejectionCode, bets[staged.SecondOutcome.BetId].RefundStatus,
             bets[staged.SecondOutcome.BetId].RefundTransfers));
        Assert.Equal(("rejected", BetRejectionCodes.InsufficientFunds, 0),
            (bets[staged.Insufficient.BetId].Status, bets[staged.Insufficient.BetId].RejectionCode, bets[staged.Insufficient.BetId].StakeTransfers));
        Assert.Equal(1_100, await stack.BalanceAsync(staged.Pool.Escrow));
        Assert.Equal(Funds - 600, await stack.BalanceAsync(staged.Backer.Account));
        Assert.Equal(Funds - 500, await stack.BalanceAsync(staged.Other.Account));
        Assert.Equal(300, await stack.BalanceAsync(staged.Poor.Account));
        await EscrowInvariant.AssertAsync(stack, staged.Pool, settled: true);

        // Each accepted bet in exactly one BetsPlaced, however many recoverers decided it.
        async Task<Guid[]> PlacedBetIdsAsync() => [.. (await stack.PublishedAsync("bets", "streambets.bets.bets-placed.v1", staged.Pool.Id))
            .SelectMany(e => e.GetProperty("bets").EnumerateArray()).Select(b => b.GetProperty("betId").GetGuid())];
        Assert.True(await BetEngineStack.EventuallyAsync(async () => (await PlacedBetIdsAsync()).Length >= 2));
        Assert.Equal(new[] { staged.Won.BetId, staged.Accepted.BetId }.Order(), (await PlacedBetIdsAsync()).Order());
    }
}
