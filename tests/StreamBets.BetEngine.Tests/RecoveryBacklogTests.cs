using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using StreamBets.BetEngine.Data;
using StreamBets.BetEngine.Ledger;
using StreamBets.BetEngine.Placement;
using StreamBets.Testing;

namespace StreamBets.BetEngine.Tests;

/// <summary>
/// What recovery still owes shows in gauges (<see cref="RecoveryBacklogGauges"/>), and refunds the ledger keeps refusing
/// wait their turn instead of starving the refunds behind them.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class RecoveryBacklogTests(BetEngineStack stack)
{
    private const long Funds = 10_000;

    /// <summary>Refunds one recovery round takes at most (PendingBetRecovery.MaxBetsPerRound).</summary>
    private const int RefundsPerRound = 5_000;

    private BetBatchPipeline Pipeline => stack.BetEngine.GetRequiredService<BetBatchPipeline>();
    private PendingBetRecovery Recovery => stack.BetEngine.GetRequiredService<PendingBetRecovery>();
    private StakeLedger Ledger => stack.BetEngine.GetRequiredService<StakeLedger>();
    private BatchFinalizer Finalizer => stack.BetEngine.GetRequiredService<BatchFinalizer>();

    [Fact]
    public async Task Refunds_the_ledger_keeps_refusing_show_in_the_gauges_and_do_not_starve_a_refund_due_after_them()
    {
        // A full round of refunds the ledger refuses (out of a frozen escrow), due before the one that can be paid.
        var frozenPool = Guid.NewGuid();
        var now = RecoveryTests.Now(stack);
        await StageRefundsDueAsync(frozenPool, RefundsPerRound, now - TimeSpan.FromHours(1));
        using var refusal = stack.RefundRefusal.RefuseFrom(frozenPool);
        try
        {
            var (player, loser) = await StageRefundDueAsync();

            using var gauges = RecordedGauges(stack.BetEngine.GetRequiredService<IMeterFactory>());
            await stack.BetEngine.GetRequiredService<RecoveryBacklogGauges>().SampleAsync(default);
            var seen = gauges.Observe();
            Assert.InRange(seen["streambets.bets.refunds_due"], RefundsPerRound + 1, double.MaxValue);
            Assert.InRange(seen["streambets.bets.refunds_due_oldest_age"], 3_590, double.MaxValue);

            // The first round tries the oldest, which the ledger refuses; the next ones get to the refund behind them.
            await Recovery.RecoverAsync(TimeSpan.Zero, default);
            await Recovery.RecoverAsync(TimeSpan.Zero, default);

            Assert.Equal(1, await stack.ScalarAsync("SELECT count(*) FROM bets WHERE bet_id = $1 AND refund_status = 'done'", loser.BetId));
            Assert.Equal(Funds - 600, await stack.BalanceAsync(player.Account));
            Assert.Single(await stack.TransferIdsAsync(player.Account), id => id == BetTransferIds.Refund(loser.BetId).ToString());
            // The refused ones are still due (never lost), each put off after its refusal.
            Assert.Equal(RefundsPerRound, await stack.ScalarAsync(
                "SELECT count(*) FROM bets WHERE pool_id = $1 AND refund_status = 'due' AND refund_attempts >= 1 AND refund_retry_at > $2", frozenPool, now));
            await stack.AssertLedgerExactAsync();
        }
        finally
        {
            // Staged rows whose stakes never moved: nothing to give back.
            await stack.ScalarAsync("WITH d AS (DELETE FROM bets WHERE pool_id = $1 RETURNING 1) SELECT count(*) FROM d", frozenPool);
        }
    }

    [Fact]
    public async Task A_refund_refused_once_is_paid_exactly_once_when_its_retry_is_due()
    {
        var pool = await stack.NewPoolAsync();
        var (player, loser) = await StageRefundDueAsync(pool);
        using (stack.RefundRefusal.RefuseFrom(pool.Id))
        {
            await Recovery.RecoverAsync(TimeSpan.Zero, default);
        }
        Assert.Equal(1, await stack.ScalarAsync(
            "SELECT count(*) FROM bets WHERE bet_id = $1 AND refund_status = 'due' AND refund_attempts = 1", loser.BetId));

        // Not before its retry is due...
        await Recovery.RecoverAsync(TimeSpan.Zero, default);
        Assert.Equal(Funds - 1_500, await stack.BalanceAsync(player.Account));

        // ...then once, however many rounds run.
        var by = BetStore.RefundRetryFirstWait + TimeSpan.FromSeconds(1);
        stack.Clock.Advance(by);
        try
        {
            await Recovery.RecoverAsync(TimeSpan.Zero, default);
            await Recovery.RecoverAsync(TimeSpan.Zero, default);
        }
        finally
        {
            stack.Clock.Advance(-by);
        }
        Assert.Equal(1, await stack.ScalarAsync("SELECT count(*) FROM bets WHERE bet_id = $1 AND refund_status = 'done'", loser.BetId));
        Assert.Equal(Funds - 600, await stack.BalanceAsync(player.Account));
        Assert.Equal(600, await stack.BalanceAsync(pool.Escrow));
        Assert.Single(await stack.TransferIdsAsync(player.Account), id => id == BetTransferIds.Refund(loser.BetId).ToString());
        await stack.AssertLedgerExactAsync();
    }

    [Fact]
    public async Task The_gauges_read_zero_with_nothing_pending_and_age_the_oldest_pending_batch_and_refund()
    {
        // A betsdb of its own: the stack's is shared with every other test.
        var connectionString = await InProcessServices.CreateFastDatabaseAsync(await TestServers.PostgresAsync(), "backlog");
        await PostgresSchema.MigrateAsync(connectionString, typeof(BetStore).Assembly);
        await using var db = NpgsqlDataSource.Create(connectionString);
        await using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meters = services.GetRequiredService<IMeterFactory>();
        var sampler = new RecoveryBacklogGauges(new BetStore(db), stack.Clock, Options.Create(new BetEngineOptions()), meters, NullLogger<RecoveryBacklogGauges>.Instance);
        using var gauges = RecordedGauges(meters);

        await sampler.SampleAsync(default);
        Assert.Equal(new Dictionary<string, double>
        {
            ["streambets.bets.pending_batches"] = 0,
            ["streambets.bets.pending_oldest_age"] = 0,
            ["streambets.bets.refunds_due"] = 0,
            ["streambets.bets.refunds_due_oldest_age"] = 0,
        }, gauges.Observe());

        // A batch written two minutes ago that never finished, one written just now, and a refund due for five minutes.
        var now = RecoveryTests.Now(stack);
        var store = new BetStore(db);
        var bet = new PendingBet(Guid.CreateVersion7(), Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), 500, now);
        await store.WritePendingAsync(bet.PoolId, [new KeyedBet(bet, "old")], now - TimeSpan.FromMinutes(2), default);
        var young = bet with { BetId = Guid.CreateVersion7(), UserId = Guid.NewGuid() };
        await store.WritePendingAsync(bet.PoolId, [new KeyedBet(young, "young")], now, default);
        await StageRefundsDueAsync(db, Guid.NewGuid(), 1, now - TimeSpan.FromMinutes(5));

        await sampler.SampleAsync(default);
        var seen = gauges.Observe();
        Assert.Equal(2, seen["streambets.bets.pending_batches"]);
        Assert.InRange(seen["streambets.bets.pending_oldest_age"], 120, 180);
        Assert.Equal(1, seen["streambets.bets.refunds_due"]);
        Assert.InRange(seen["streambets.bets.refunds_due_oldest_age"], 300, 360);
    }

    /// <summary>A second-outcome loser whose stake moved, decided and left with its refund due (the process died before
    /// refunding): the winner 600, the loser 900.</summary>
    private async Task<(TestPlayer Player, AdmittedBet Loser)> StageRefundDueAsync(TestPool? pool = null)
    {
        pool ??= await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync(Funds);
        var first = stack.Admit(player, pool, pool.Outcomes[0], 600);
        var second = stack.Admit(player, pool, pool.Outcomes[1], 900);
        await Pipeline.WritePendingAsync(pool.Id, [first, second], default);
        await Ledger.MoveStakesAsync([first.ToPending(), second.ToPending()], default);
        await Finalizer.FinalizeAsync(pool.Id, [new StakeDecision(first.ToPending(), StakeMovement.Moved), new StakeDecision(second.ToPending(), StakeMovement.Moved)], default);
        Assert.Equal(1, await stack.ScalarAsync("SELECT count(*) FROM bets WHERE bet_id = $1 AND refund_status = 'due'", second.BetId));
        return (player, second);
    }

    private Task StageRefundsDueAsync(Guid poolId, int count, DateTimeOffset decidedFrom) => StageRefundsDueAsync(stack.BetsDb, poolId, count, decidedFrom);

    /// <summary>Rejected bets of one pool with their refunds due, decided a millisecond apart from <paramref name="decidedFrom"/>.</summary>
    private static async Task StageRefundsDueAsync(NpgsqlDataSource db, Guid poolId, int count, DateTimeOffset decidedFrom)
    {
        await using var command = db.CreateCommand("""
            INSERT INTO bets (bet_id, user_id, idempotency_key, pool_id, outcome_id, stake_minor, stake_transfer_id, status,
                              rejection_code, refund_status, placed_at, written_at, decided_at)
            SELECT gen_random_uuid(), gen_random_uuid(), 'staged', $1, gen_random_uuid(), 100, gen_random_uuid(), 'rejected',
                   'second-outcome', 'due', $3, $3, $3 + i * interval '1 millisecond'
            FROM generate_series(1, $2) AS i
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = poolId });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = count });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = decidedFrom });
        await command.ExecuteNonQueryAsync();
    }

    private static readonly string[] BacklogGauges =
        ["streambets.bets.pending_batches", "streambets.bets.pending_oldest_age", "streambets.bets.refunds_due", "streambets.bets.refunds_due_oldest_age"];

    /// <summary>The four backlog gauges of one host's Bet Engine meter (one sampler's), read on demand.</summary>
    private static ObservedGauges RecordedGauges(IMeterFactory meters) =>
        new(published => published.Meter.Scope == meters && BacklogGauges.Contains(published.Name));
}
