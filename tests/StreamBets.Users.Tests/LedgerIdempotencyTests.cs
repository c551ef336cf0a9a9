using StreamBets.Testing;
using StreamBets.Users.Ledger;
using static StreamBets.Users.Tests.LedgerTestRequests;

namespace StreamBets.Users.Tests;

public sealed class LedgerIdempotencyTests(LedgerTestDatabase db) : IClassFixture<LedgerTestDatabase>
{
    [Fact]
    public async Task Replaying_a_transfer_id_returns_the_first_result_and_moves_money_once()
    {
        var (user, pool) = (NewUser(), NewPool());
        await db.Ledger.TransferAsync(Deposit(user, 1_000));
        var stake = Stake(user, pool, 300);

        var first = await db.Ledger.TransferAsync(stake);
        await db.Ledger.TransferAsync(Stake(user, pool, 100)); // the balance moves on between the attempts
        var replay = await db.Ledger.TransferAsync(stake);

        Assert.Equal(TransferStatus.Applied, first.Status);
        Assert.Equal(TransferStatus.Duplicate, replay.Status);
        Assert.Equal(first.Transfer!.Sequence, replay.Transfer!.Sequence);
        Assert.Equal(first.Transfer.CreatedAt, replay.Transfer.CreatedAt);
        Assert.Equal(first.Transfer.Postings, replay.Transfer.Postings);
        Assert.Contains(new CommittedPosting(user, -300, 700), replay.Transfer.Postings);
        var snapshot = await db.SnapshotAsync();
        Assert.Equal(600, snapshot.Balance(user));
        Assert.Equal(400, snapshot.Balance(pool));
        Assert.Single(await db.Outbox.WalletChangesAsync(db.DataSource), c => c.TransferId == first.Transfer.TransferId);
        snapshot.AssertConsistent();
    }

    [Fact]
    public async Task Reusing_a_transfer_id_for_a_different_amount_is_rejected_and_moves_nothing()
    {
        var (user, pool) = (NewUser(), NewPool());
        await db.Ledger.TransferAsync(Deposit(user, 1_000));
        var id = NewId();
        await db.Ledger.TransferAsync(Stake(user, pool, 300, id));

        var otherAmount = await db.Ledger.TransferAsync(Stake(user, pool, 301, id));
        var otherPool = await db.Ledger.TransferAsync(Stake(user, NewPool(), 300, id));

        Assert.All([otherAmount, otherPool], outcome =>
        {
            Assert.Equal(TransferStatus.Rejected, outcome.Status);
            Assert.Equal(LedgerErrors.IdempotencyKeyReused, outcome.ErrorReason);
            Assert.Null(outcome.Transfer);
        });
        var snapshot = await db.SnapshotAsync();
        Assert.Equal(700, snapshot.Balance(user));
        Assert.Equal(300, snapshot.Balance(pool));
        snapshot.AssertConsistent();
    }

    [Fact]
    public async Task A_transfer_refused_for_insufficient_funds_is_not_remembered_so_its_retry_succeeds_after_a_deposit()
    {
        var (user, pool) = (NewUser(), NewPool());
        var stake = Stake(user, pool, 500);

        var refused = await db.Ledger.TransferAsync(stake);
        await db.Ledger.TransferAsync(Deposit(user, 500));
        var retried = await db.Ledger.TransferAsync(stake);

        Assert.Equal(TransferStatus.InsufficientFunds, refused.Status);
        Assert.Equal(LedgerErrors.InsufficientFunds, refused.ErrorReason);
        Assert.Equal(TransferStatus.Applied, retried.Status);
        Assert.Equal(500, (await db.SnapshotAsync()).Balance(pool));
    }

    [Fact]
    public async Task The_same_transfer_sent_by_many_clients_at_once_moves_money_once()
    {
        var user = NewUser();
        var deposit = Deposit(user, 2_500);

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => db.Ledger.TransferAsync(deposit)));

        Assert.Single(outcomes, o => o.Status == TransferStatus.Applied);
        Assert.Equal(19, outcomes.Count(o => o.Status == TransferStatus.Duplicate));
        Assert.Single(outcomes.Select(o => o.Transfer!.Sequence).Distinct());
        var snapshot = await db.SnapshotAsync();
        Assert.Equal(2_500, snapshot.Balance(user));
        snapshot.AssertConsistent();
    }

    [Fact]
    public async Task A_transfer_id_repeated_inside_one_batch_is_applied_once_and_a_changed_repeat_is_rejected()
    {
        var user = NewUser();
        var deposit = Deposit(user, 100);

        var outcomes = await db.Ledger.TransferBatchAsync([deposit, deposit, deposit with { Reason = "bonus" }]);

        Assert.Equal([TransferStatus.Applied, TransferStatus.Duplicate, TransferStatus.Rejected], outcomes.Select(o => o.Status));
        Assert.Equal(outcomes[0].Transfer, outcomes[1].Transfer);
        Assert.Equal(LedgerErrors.IdempotencyKeyReused, outcomes[2].ErrorReason);
        Assert.Equal(100, (await db.SnapshotAsync()).Balance(user));
    }

    [Fact]
    public async Task A_batch_replaying_a_stored_transfer_answers_it_as_a_duplicate_and_plans_the_rest_on_the_true_balance()
    {
        var (user, pool) = (NewUser(), NewPool());
        await db.Ledger.TransferAsync(Deposit(user, 1_000));
        var first = Stake(user, pool, 300);
        await db.Ledger.TransferAsync(first);

        // The ledger first assumes every id is new; the replay makes it roll back and read the stored transfer.
        // Were the replay counted again, the 700 stake would find only 400 and be refused.
        var outcomes = await db.Ledger.TransferBatchAsync([Stake(user, pool, 700), first]);

        Assert.Equal([TransferStatus.Applied, TransferStatus.Duplicate], outcomes.Select(o => o.Status));
        Assert.Contains(new CommittedPosting(user, -700, 0), outcomes[0].Transfer!.Postings);
        var snapshot = await db.SnapshotAsync();
        Assert.Equal((0, 1_000), (snapshot.Balance(user), snapshot.Balance(pool)));
        Assert.Single(await db.Outbox.WalletChangesAsync(db.DataSource), c => c.TransferId == outcomes[1].Transfer!.TransferId);
        snapshot.AssertConsistent();
    }

    [Fact]
    public async Task Replays_queued_behind_a_stake_that_empties_the_wallet_answer_duplicate_not_insufficient_funds()
    {
        var (user, pool) = (NewUser(), NewPool());
        await db.Ledger.TransferAsync(Deposit(user, 500));
        var stake = Stake(user, pool, 500);

        var (first, replays) = await ReplayWhileTheFirstApplicationHoldsItsLocksAsync(stake);

        await AssertAppliedOnceAndAnsweredDuplicateAsync(first, replays);
        Assert.Contains(new CommittedPosting(user, -500, 0), first.Transfer!.Postings);
        var snapshot = await db.SnapshotAsync();
        Assert.Equal((0, 500), (snapshot.Balance(user), snapshot.Balance(pool)));
        snapshot.AssertConsistent();
    }

    [Fact]
    public async Task Replays_queued_behind_a_payout_that_empties_the_escrow_answer_duplicate_not_insufficient_funds()
    {
        var (player, winner, pool) = (NewUser(), NewUser(), NewPool());
        await db.Ledger.TransferAsync(Deposit(player, 500));
        await db.Ledger.TransferAsync(Stake(player, pool, 500));
        var payout = new TransferRequest(NewId(), "settlement", [TransferLeg.Between(pool, winner, 500)], Reference: pool.Owner.ToString());

        var (first, replays) = await ReplayWhileTheFirstApplicationHoldsItsLocksAsync(payout);

        await AssertAppliedOnceAndAnsweredDuplicateAsync(first, replays);
        Assert.Contains(new CommittedPosting(pool, -500, 0), first.Transfer!.Postings);
        var snapshot = await db.SnapshotAsync();
        Assert.Equal((0, 500, 0), (snapshot.Balance(player), snapshot.Balance(winner), snapshot.Balance(pool)));
        snapshot.AssertConsistent();
    }

    /// <summary>
    /// Holds the first application of <paramref name="transfer"/> after it locked its accounts, queues ten replays from
    /// callers of their own behind its row locks, then lets it commit: each replay then finds the source emptied, so
    /// only the stored transfer can tell it that its money already moved.
    /// </summary>
    private async Task<(TransferOutcome First, TransferOutcome[] Replays)> ReplayWhileTheFirstApplicationHoldsItsLocksAsync(TransferRequest transfer)
    {
        const int Replays = 10;
        Task<IReadOnlyList<TransferOutcome>> first;
        Task<TransferOutcome>[] replays;
        await using (var pause = await db.PauseWritesAsync("ledger_transfers", $"NEW.transfer_id = '{transfer.TransferId}'", "INSERT"))
        {
            first = Task.Run(() => db.Ledger.TransferBatchAsync([transfer]));
            await pause.HeldAsync(first);
            replays = [.. Enumerable.Range(0, Replays).Select(_ => Task.Run(() => db.Ledger.TransferAsync(transfer)))];
            var queued = await Eventually.HoldsAsync(async () => replays.Any(r => r.IsCompleted) || await RowLockWaitersAsync() >= Replays, PostgresRaceSteps.StepTimeout);
            Assert.True(queued, $"{Replays} replays did not queue behind the first application's row locks.");
            Assert.DoesNotContain(replays, r => r.IsCompleted);
            await pause.ReleaseAsync();
        }
        return ((await first)[0], await Task.WhenAll(replays));
    }

    /// <summary>Backends of this database waiting on a row (a tuple or the holder's transaction), not on the pause.</summary>
    private async Task<long> RowLockWaitersAsync()
    {
        await using var command = db.DataSource.CreateCommand("""
            SELECT count(*) FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event IN ('tuple', 'transactionid')
            """);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private async Task AssertAppliedOnceAndAnsweredDuplicateAsync(TransferOutcome first, TransferOutcome[] replays)
    {
        Assert.Equal(TransferStatus.Applied, first.Status);
        Assert.Equal(0, replays.Count(r => r.Status == TransferStatus.InsufficientFunds));
        Assert.All(replays, replay =>
        {
            Assert.Equal(TransferStatus.Duplicate, replay.Status);
            Assert.Equal((first.Transfer!.Sequence, first.Transfer.CreatedAt), (replay.Transfer!.Sequence, replay.Transfer.CreatedAt));
            Assert.Equal(first.Transfer.Postings, replay.Transfer.Postings);
        });
        Assert.Single(await db.Outbox.WalletChangesAsync(db.DataSource), c => c.TransferId == first.Transfer!.TransferId);
    }

    [Fact]
    public async Task A_settlement_with_many_legs_moves_all_of_its_money_or_none()
    {
        var (alice, bob, pool) = (NewUser(), NewUser(), NewPool());
        await db.Ledger.TransferAsync(Deposit(alice, 600));
        await db.Ledger.TransferAsync(Deposit(bob, 400));
        await db.Ledger.TransferBatchAsync([Stake(alice, pool, 600), Stake(bob, pool, 400)]);
        TransferRequest Settlement(long alicePayout) => new(NewId(), "settlement",
        [
            TransferLeg.Between(pool, alice, alicePayout),
            TransferLeg.Between(pool, bob, 300),
            TransferLeg.Between(pool, LedgerAccountId.HouseRake, 50),
            TransferLeg.Between(pool, LedgerAccountId.HouseBreakage, 1),
        ], Reference: pool.Owner.ToString());

        var tooMuch = await db.Ledger.TransferAsync(Settlement(650));
        var afterRefusal = await db.SnapshotAsync();
        var exact = await db.Ledger.TransferAsync(Settlement(649));

        Assert.Equal(TransferStatus.InsufficientFunds, tooMuch.Status);
        Assert.Equal((0, 0, 1_000), (afterRefusal.Balance(alice), afterRefusal.Balance(bob), afterRefusal.Balance(pool)));
        Assert.Equal(TransferStatus.Applied, exact.Status);
        Assert.Equal(5, exact.Transfer!.Postings.Count);
        var snapshot = await db.SnapshotAsync();
        Assert.Equal((649, 300, 0), (snapshot.Balance(alice), snapshot.Balance(bob), snapshot.Balance(pool)));
        snapshot.AssertConsistent();
    }

    [Fact]
    public async Task Every_change_to_a_user_wallet_is_announced_with_the_new_balance_delta_and_reason()
    {
        var (alice, bob) = (NewUser(), NewUser());
        await db.Ledger.TransferAsync(Deposit(alice, 1_000));
        var gift = await db.Ledger.TransferAsync(new TransferRequest(NewId(), "gift", [TransferLeg.Between(alice, bob, 250)], Reference: "birthday"));

        var changes = (await db.Outbox.WalletChangesAsync(db.DataSource)).Where(c => c.TransferId == gift.Transfer!.TransferId).OrderBy(c => c.DeltaMinor).ToArray();

        Assert.Equal(2, changes.Length);
        Assert.Equal((alice.Owner!.Value, -250L, 750L, "gift", "birthday"), (changes[0].UserId, changes[0].DeltaMinor, changes[0].BalanceMinor, changes[0].Reason, changes[0].Reference));
        Assert.Equal((bob.Owner!.Value, 250L, 250L), (changes[1].UserId, changes[1].DeltaMinor, changes[1].BalanceMinor));
    }

    [Fact]
    public async Task History_pages_run_newest_first_without_gaps_or_repeats()
    {
        var user = NewUser();
        var ids = new List<Guid>();
        for (var i = 1; i <= 25; i++)
        {
            ids.Add((await db.Ledger.TransferAsync(Deposit(user, i))).Transfer!.TransferId);
        }

        var seen = new List<LedgerHistoryEntry>();
        long? cursor = null;
        var pages = 0;
        do
        {
            var page = await db.Ledger.GetHistoryAsync(user, cursor, 10);
            seen.AddRange(page.Entries);
            cursor = page.NextBefore;
            pages++;
        }
        while (cursor is not null);

        Assert.Equal(3, pages);
        Assert.Equal(ids.AsEnumerable().Reverse(), seen.Select(e => e.TransferId));
        Assert.Equal(25 * 26 / 2, seen[0].BalanceAfterMinor);
        Assert.Equal(1, seen[^1].BalanceAfterMinor);
    }

    [Theory]
    [InlineData("not-a-uuid", "user", 10)]
    [InlineData("00000000-0000-0000-0000-000000000000", "user", 10)]
    [InlineData(null, "bank:vault", 10)]
    [InlineData(null, "user", 0)]
    [InlineData(null, "user", -5)]
    [InlineData(null, "user", LedgerTransfer.MaxLegAmountMinor + 1)]
    public async Task Malformed_transfers_are_rejected_and_write_nothing(string? id, string to, long amount)
    {
        var before = await db.SnapshotAsync();
        var target = to == "user" ? NewUser().Code : to;

        var outcome = await db.Ledger.TransferAsync(new TransferRequest(id ?? NewId(), "deposit", [new TransferLeg(LedgerAccountId.PspClearing.Code, target, amount)]));

        Assert.Equal(TransferStatus.Rejected, outcome.Status);
        Assert.Equal(LedgerErrors.InvalidTransfer, outcome.ErrorReason);
        var after = await db.SnapshotAsync();
        Assert.Equal((before.TransferCount, before.Balances.Count), (after.TransferCount, after.Balances.Count));
    }
}
