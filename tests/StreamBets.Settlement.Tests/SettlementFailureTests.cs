using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.ClientFactory;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using StreamBets.BetEngine.Ledger;
using StreamBets.BetEngine.Placement;
using StreamBets.Contracts.Wallet;
using StreamBets.Settlement.Payouts;
using StreamBets.Testing;
using BetEngineClient = StreamBets.Contracts.Bets.BetEngine.BetEngineClient;
using PoolsClient = StreamBets.Contracts.Pools.Pools.PoolsClient;

namespace StreamBets.Settlement.Tests;

/// <summary>What settlement does when it cannot finish: it waits and retries what time fixes, and stops for what it does not.</summary>
[Collection(StackCollection.Name)]
public sealed class SettlementFailureTests(SettlementStack stack)
{
    private const long Funds = 10_000;

    [Fact]
    public async Task A_pool_with_a_pending_bet_waits_for_the_bet_engine_to_decide_it_then_settles()
    {
        var pool = await stack.NewPoolAsync();
        var users = await stack.FundedUsersAsync(3, Funds);
        await stack.PlaceAsync(pool.Id, [(users[0], pool.Outcomes[0], 1_000), (users[1], pool.Outcomes[1], 1_000)]);
        // A batch wrote its bet 'pending' and the process died before the ledger call.
        var pending = Admit(users[2], pool, pool.Outcomes[0], 500);
        await stack.BetEngine.GetRequiredService<BetBatchPipeline>().WritePendingAsync(pool.Id, [pending], default);

        await stack.LockAsync(pool.Id);
        await stack.ResolveAsync(pool.Id, pool.Outcomes[0]);
        Assert.True(await Eventually.HoldsAsync(async () => (await stack.StatusAsync(pool.Id)).LastError?.StartsWith("bets-pending", StringComparison.Ordinal) == true,
            TimeSpan.FromSeconds(15)), "Settlement did not wait for the pending bet.");
        Assert.Equal("running", (await stack.StatusAsync(pool.Id)).Status);
        Assert.Equal(0, await stack.SettlementScalarAsync("SELECT count(*) FROM settled_bets WHERE pool_id = $1", pool.Id));
        // The wait shows in the backlog gauges an SRE alerts on: at least this one unfinished, waiting since it became due.
        var waitedMs = await stack.SettlementScalarAsync("SELECT (extract(epoch FROM now() - created_at) * 1000)::bigint FROM settlements WHERE pool_id = $1", pool.Id);
        await stack.Settlement.Services.GetRequiredService<SettlementBacklog>().ReportAsync(default);
        var gauges = SettlementMetrics.Gauges();
        Assert.True(gauges["streambets.settlement.waiting"] >= 1);
        Assert.True(gauges["streambets.settlement.oldest_waiting_age"] >= waitedMs / 1000.0 - 1, $"oldest age {gauges["streambets.settlement.oldest_waiting_age"]} s");

        // The Bet Engine's recovery decides it: the pool has finished, so the bet is rejected and nothing stays in escrow for it.
        await stack.BetEngine.GetRequiredService<PendingBetRecovery>().RecoverAsync(TimeSpan.Zero, default);
        await stack.WaitSettledAsync(pool.Id);

        // T = 2,000; rake 100; the one winner gets 1,900.
        var balances = await stack.BalancesAsync([.. users.Select(u => $"user:{u}"), pool.Escrow]);
        Assert.Equal([Funds - 1_000 + 1_900, Funds - 1_000, Funds, 0], [balances[$"user:{users[0]}"], balances[$"user:{users[1]}"], balances[$"user:{users[2]}"], balances[pool.Escrow]]);
        await stack.AssertLedgerExactAsync();
    }

    [Fact]
    public async Task Bets_still_in_flight_when_the_pool_is_settled_are_refunded_and_never_paid()
    {
        var pool = await stack.NewPoolAsync();
        var users = await stack.FundedUsersAsync(4, Funds);
        await stack.PlaceAsync(pool.Id, [(users[0], pool.Outcomes[0], 1_000), (users[1], pool.Outcomes[1], 1_000)]);
        var pipeline = stack.BetEngine.GetRequiredService<BetBatchPipeline>();
        // Two bets admitted just before the lock: one batch wrote its bet and moved the stake into escrow, but has not
        // finalized it yet; the other bet still waits in its pool's batcher.
        var moved = Admit(users[2], pool, pool.Outcomes[0], 500);
        var queued = Admit(users[3], pool, pool.Outcomes[0], 700);
        await pipeline.WritePendingAsync(pool.Id, [moved], default);
        await stack.BetEngine.GetRequiredService<StakeLedger>().MoveStakesAsync([moved.ToPending()], default);

        await stack.LockAsync(pool.Id);
        await stack.ResolveAsync(pool.Id, pool.Outcomes[0]);
        Assert.True(await Eventually.HoldsAsync(async () => (await stack.StatusAsync(pool.Id)).LastError?.StartsWith("bets-pending", StringComparison.Ordinal) == true,
            TimeSpan.FromSeconds(15)), "Settlement did not wait for the bet in flight.");

        // Settlement's snapshot has begun: the queued bet's batch now writes nothing and moves nothing...
        IReadOnlyList<PlacementResult>? refused = null;
        await pipeline.RunAsync(pool.Id, [queued], r => refused = r, default);
        Assert.Equal((null, BetRejectionCodes.PoolClosed), (refused!.Single().Bet, refused!.Single().Rejection?.Code));
        // ...and the other batch's finalize rejects its bet and gives the stake back.
        var finalized = await stack.BetEngine.GetRequiredService<BatchFinalizer>().FinalizeAsync(
            pool.Id, [new StakeDecision(moved.ToPending(), StakeMovement.Moved)], default);
        Assert.Equal((BetStatus.Rejected, BetRejectionCodes.PoolClosed), (finalized.Bets.Single().Status, finalized.Bets.Single().Rejection?.Code));
        await pipeline.CompleteAsync(pool.Id, finalized, default);
        await stack.WaitSettledAsync(pool.Id);

        // T = 2,000 (the two accepted bets only); rake 100; the one winner gets 1,900. The late players have their money.
        var balances = await stack.BalancesAsync([.. users.Select(u => $"user:{u}"), pool.Escrow]);
        Assert.Equal([Funds - 1_000 + 1_900, Funds - 1_000, Funds, Funds, 0], [.. users.Select(u => balances[$"user:{u}"]), balances[pool.Escrow]]);
        Assert.Equal(0, await stack.SettlementScalarAsync("SELECT escrow_residue_minor FROM settlements WHERE pool_id = $1", pool.Id));
        Assert.Equal(2, await stack.SettlementScalarAsync("SELECT count(*) FROM settled_bets WHERE pool_id = $1", pool.Id));
        Assert.Equal(0, await stack.SettlementScalarAsync("SELECT count(*) FROM settled_bets WHERE bet_id = ANY($1)", new[] { moved.BetId, queued.BetId }));
        await stack.AssertLedgerExactAsync();
        // The loop closes in Pools: PoolSettled marks the pool paid out.
        Assert.True(await Eventually.HoldsAsync(async () =>
            (await stack.PoolsHttp.GetFromJsonAsync<JsonElement>($"/api/pools/{pool.Id}")).GetProperty("settlement").GetString() == "settled",
            TimeSpan.FromSeconds(15)), "Pools never showed the pool settled.");
    }

    [Fact]
    public async Task A_payment_the_ledger_refuses_stops_the_settlement_until_an_operator_requeues_it()
    {
        var pool = await stack.NewPoolAsync();
        var users = await stack.FundedUsersAsync(3, Funds);
        await stack.PlaceAsync(pool.Id, [(users[0], pool.Outcomes[0], 1_000), (users[1], pool.Outcomes[1], 1_000)]);
        var rake = await stack.BalanceAsync("house:rake");
        // Something took 1 out of the escrow: it can pay the winner's 1,900 but not then the rake of 100.
        await stack.MoveAsync(pool.Escrow, $"user:{users[2]}", 1);

        await stack.LockAsync(pool.Id);
        await stack.ResolveAsync(pool.Id, pool.Outcomes[0]);
        Assert.True(await Eventually.HoldsAsync(async () => (await stack.StatusAsync(pool.Id)).Status == "failed", TimeSpan.FromSeconds(30)),
            $"The settlement is '{(await stack.StatusAsync(pool.Id)).Status}', not failed.");
        Assert.StartsWith("payment-refused", (await stack.StatusAsync(pool.Id)).LastError);
        Assert.Equal(rake, await stack.BalanceAsync("house:rake"));

        // The operator finds it among the failed settlements, with its reason.
        using var admin = stack.SettlementClient(Guid.NewGuid(), "admin");
        var failed = await admin.GetFromJsonAsync<JsonElement>("/api/settlements?status=failed");
        var listed = Assert.Single(failed.GetProperty("items").EnumerateArray(), item => item.GetProperty("poolId").GetGuid() == pool.Id);
        Assert.StartsWith("payment-refused", listed.GetProperty("lastError").GetString());
        // And on the failed gauge, which stays up until the requeue (the failures counter ticked once, maybe before a restart).
        await stack.Settlement.Services.GetRequiredService<SettlementBacklog>().ReportAsync(default);
        Assert.True(SettlementMetrics.Gauges()["streambets.settlement.failed"] >= 1);

        // Two days later the operator puts the money back and requeues: the rerun pays the rake and nobody twice.
        await stack.SettlementScalarAsync("UPDATE settlements SET created_at = created_at - interval '2 days' WHERE pool_id = $1", pool.Id);
        await stack.MoveAsync($"user:{users[2]}", pool.Escrow, 1);
        await using (var otherWorker = await stack.SettlementDb.OpenConnectionAsync())
        {
            // Another replica's worker holds the pool's run lock a moment, so the backlog is read while the settlement is due.
            await SettlementStack.RunLockAsync(otherWorker, "pg_advisory_lock", pool.Id);
            try
            {
                Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/settlements/{pool.Id}/requeue", null)).StatusCode);
                await stack.Settlement.Services.GetRequiredService<SettlementBacklog>().ReportAsync(default);
                var gauges = SettlementMetrics.Gauges();
                // Due again, and no longer saying why it failed: the console would show payment-refused for the whole rerun.
                Assert.Equal<(string?, string?)>(("due", null), await stack.StatusAsync(pool.Id));
                // Due again since the requeue, seconds ago: not since the pool finished, which would page on-call.
                Assert.InRange(gauges["streambets.settlement.oldest_waiting_age"], 0, 60);
            }
            finally
            {
                await SettlementStack.RunLockAsync(otherWorker, "pg_advisory_unlock", pool.Id);
            }
        }
        await stack.WaitSettledAsync(pool.Id);

        var balances = await stack.BalancesAsync([.. users.Select(u => $"user:{u}"), pool.Escrow]);
        Assert.Equal([Funds - 1_000 + 1_900, Funds - 1_000, Funds, 0], [balances[$"user:{users[0]}"], balances[$"user:{users[1]}"], balances[$"user:{users[2]}"], balances[pool.Escrow]]);
        Assert.Equal(rake + 100, await stack.BalanceAsync("house:rake"));
        Assert.Equal(2, await stack.SettlementScalarAsync("SELECT count(*) FROM settled_bets WHERE pool_id = $1", pool.Id));
        await stack.AssertLedgerExactAsync();
    }

    [Fact]
    public async Task A_refused_payout_leaves_the_rest_of_its_slice_recorded_and_the_requeue_settles_every_bet_once()
    {
        var pool = await stack.NewPoolAsync();
        var users = await stack.FundedUsersAsync(5, Funds);
        var bets = await stack.PlaceAsync(pool.Id, [.. users[..3].Select(u => (u, pool.Outcomes[0], 1_000L)), (users[3], pool.Outcomes[1], 1_000L)]);
        using var paid = new TaggedCounter("streambets.settlement.paid", "reason", pool.Id);
        // T = 4,000; rake 200; each winner gets floor(1,000 × 3,800 / 3,000) = 1,266. With 1,000 taken out, the escrow's
        // 3,000 pays two winners of the one slice, whichever the ledger takes first, and not the third.
        await stack.MoveAsync(pool.Escrow, $"user:{users[4]}", 1_000);

        await stack.LockAsync(pool.Id);
        await stack.ResolveAsync(pool.Id, pool.Outcomes[0]);
        Assert.True(await Eventually.HoldsAsync(async () => (await stack.StatusAsync(pool.Id)).Status == "failed", TimeSpan.FromSeconds(30)),
            $"The settlement is '{(await stack.StatusAsync(pool.Id)).Status}', not failed.");
        Assert.StartsWith("payment-refused", (await stack.StatusAsync(pool.Id)).LastError);

        // The two payouts that moved and the losing bet are recorded and announced; the refused one is neither.
        var balances = await stack.BalancesAsync(users[..3].Select(u => $"user:{u}"));
        var refused = Assert.Single(bets[..3], b => balances[$"user:{b.UserId}"] == Funds - 1_000);
        Assert.All(bets[..3].Where(b => b != refused), b => Assert.Equal(Funds - 1_000 + 1_266, balances[$"user:{b.UserId}"]));
        Guid[] moved = [.. bets.Where(b => b != refused).Select(b => b.BetId).Order()];
        Assert.Equal(moved, await SettledBetIdsAsync(pool.Id));
        await AssertAnnouncedOnceEachAsync(pool.Id, moved);
        Assert.Equal(2 * 1_266, paid.Sum(PoolSettlementRun.PayoutReason));

        // The operator puts the money back and requeues: the rerun pays the refused bet, and nobody twice.
        await stack.MoveAsync($"user:{users[4]}", pool.Escrow, 1_000);
        using var admin = stack.SettlementClient(Guid.NewGuid(), "admin");
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/settlements/{pool.Id}/requeue", null)).StatusCode);
        await stack.WaitSettledAsync(pool.Id);

        balances = await stack.BalancesAsync([.. users.Select(u => $"user:{u}"), pool.Escrow]);
        Assert.Equal([Funds + 266, Funds + 266, Funds + 266, Funds - 1_000, Funds, 0], [.. users.Select(u => balances[$"user:{u}"]), balances[pool.Escrow]]);
        Assert.Equal(bets.Select(b => b.BetId).Order(), await SettledBetIdsAsync(pool.Id));
        await AssertAnnouncedOnceEachAsync(pool.Id, [.. bets.Select(b => b.BetId)]);
        Assert.Equal(3 * 1_266, paid.Sum(PoolSettlementRun.PayoutReason));
        await stack.AssertLedgerExactAsync();
    }

    [Fact]
    public async Task A_failure_whose_failed_status_fails_to_be_written_once_is_counted_once_and_not_rerun()
    {
        var pool = await stack.NewPoolAsync();
        var users = await stack.FundedUsersAsync(3, Funds);
        await stack.PlaceAsync(pool.Id, [(users[0], pool.Outcomes[0], 1_000), (users[1], pool.Outcomes[1], 1_000)]);
        // The rake cannot be paid, and settlementdb fails the first write of the 'failed' status.
        await stack.MoveAsync(pool.Escrow, $"user:{users[2]}", 1);
        await using var fault = await stack.FailFirstUpdateAsync(pool.Id, "NEW.status = 'failed'");
        using var failures = new TaggedCounter("streambets.settlement.failures", "reason", pool.Id);

        await stack.LockAsync(pool.Id);
        await stack.ResolveAsync(pool.Id, pool.Outcomes[0]);
        Assert.True(await Eventually.HoldsAsync(async () => (await stack.StatusAsync(pool.Id)).Status == "failed", TimeSpan.FromSeconds(30)),
            $"The settlement is '{(await stack.StatusAsync(pool.Id)).Status}', not failed.");
        Assert.True(await fault.FiredAsync());

        // The write was tried again; the pool was not run again, and its one failure ticked the counter once.
        Assert.Equal(1, await stack.SettlementScalarAsync("SELECT attempts FROM settlements WHERE pool_id = $1", pool.Id));
        Assert.Equal(1, failures.Sum("payment-refused"));
        Assert.StartsWith("payment-refused", (await stack.StatusAsync(pool.Id)).LastError);

        await stack.MoveAsync($"user:{users[2]}", pool.Escrow, 1);
        using var admin = stack.SettlementClient(Guid.NewGuid(), "admin");
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/settlements/{pool.Id}/requeue", null)).StatusCode);
        await stack.WaitSettledAsync(pool.Id);
        await stack.AssertLedgerExactAsync();
    }

    [Fact]
    public async Task A_retry_whose_write_fails_once_still_waits_its_backoff()
    {
        var pool = await stack.NewPoolAsync();
        var users = await stack.FundedUsersAsync(3, Funds);
        await stack.PlaceAsync(pool.Id, [(users[0], pool.Outcomes[0], 1_000), (users[1], pool.Outcomes[1], 1_000)]);
        // A pending bet makes every run a transient failure; settlementdb fails the first write of its retry time.
        var pending = Admit(users[2], pool, pool.Outcomes[0], 500);
        await stack.BetEngine.GetRequiredService<BetBatchPipeline>().WritePendingAsync(pool.Id, [pending], default);
        await using var fault = await stack.FailFirstUpdateAsync(pool.Id, "NEW.next_attempt_at IS DISTINCT FROM OLD.next_attempt_at");
        using var runs = new RunSpans(pool.Id);
        // A backoff long enough to tell from the 0.2 s poll (the stack's RetryMaxDelay of 2 s would cap it).
        await stack.StopSettlementAsync();
        stack.StartSettlement(services => services.Configure<SettlementOptions>(o => (o.RetryInitialDelay, o.RetryMaxDelay) = (TimeSpan.FromSeconds(6), TimeSpan.FromSeconds(6))));
        try
        {
            await stack.LockAsync(pool.Id);
            await stack.ResolveAsync(pool.Id, pool.Outcomes[0]);
            Assert.True(await Eventually.HoldsAsync(fault.FiredAsync, TimeSpan.FromSeconds(15)), "The first run never wrote its retry.");

            // The pending bet fails the second run too. It began only once the first run had ended (its lock held while it
            // waited to write the retry) and a backoff (at least 4.8 s with the jitter) after the first began: read from
            // the runs' own spans, not guessed by sleeping.
            Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(runs.Ended.Count >= 2), TimeSpan.FromSeconds(20)), "The pool never ran a second time.");
            var (first, second) = (runs.Ended.Single(r => r.Attempt == 1), runs.Ended.Single(r => r.Attempt == 2));
            Assert.True(second.Start >= first.End, $"The second run began at {second.Start:O}, before the first ended at {first.End:O}.");
            Assert.True(second.Start - first.Start >= TimeSpan.FromSeconds(4.8), $"The second run began {(second.Start - first.Start).TotalSeconds} s after the first.");
            Assert.StartsWith("bets-pending", (await stack.StatusAsync(pool.Id)).LastError);

            await stack.BetEngine.GetRequiredService<PendingBetRecovery>().RecoverAsync(TimeSpan.Zero, default);
            await stack.WaitSettledAsync(pool.Id);
        }
        finally
        {
            await stack.StopSettlementAsync();
            stack.StartSettlement();
        }
        await stack.AssertLedgerExactAsync();
    }

    [Fact]
    public async Task A_requeued_settlement_starts_its_retry_backoff_over()
    {
        var pool = await stack.NewPoolAsync();
        var users = await stack.FundedUsersAsync(3, Funds);
        await stack.PlaceAsync(pool.Id, [(users[0], pool.Outcomes[0], 1_000), (users[1], pool.Outcomes[1], 1_000)]);
        // A pending bet makes the rerun a transient failure.
        var pending = Admit(users[2], pool, pool.Outcomes[0], 500);
        await stack.BetEngine.GetRequiredService<BetBatchPipeline>().WritePendingAsync(pool.Id, [pending], default);
        // A backoff from 1 s to 60 s, so one that starts over is told from one that goes on from the old runs.
        await stack.StopSettlementAsync();
        stack.StartSettlement(services => services.Configure<SettlementOptions>(o => (o.RetryInitialDelay, o.RetryMaxDelay) = (TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60))));
        try
        {
            await using (var otherWorker = await stack.SettlementDb.OpenConnectionAsync())
            {
                // While no worker can run it, the settlement has had ten runs and then failed for good.
                await SettlementStack.RunLockAsync(otherWorker, "pg_advisory_lock", pool.Id);
                await stack.LockAsync(pool.Id);
                await stack.ResolveAsync(pool.Id, pool.Outcomes[0]);
                Assert.True(await Eventually.HoldsAsync(async () => (await stack.StatusAsync(pool.Id)).Status == "due", TimeSpan.FromSeconds(15)), "The pool never became due.");
                await stack.SettlementScalarAsync(
                    "UPDATE settlements SET status = 'failed', attempts = 10, last_error = 'payment-refused: ten runs ago' WHERE pool_id = $1", pool.Id);
                using var admin = stack.SettlementClient(Guid.NewGuid(), "admin");
                Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/settlements/{pool.Id}/requeue", null)).StatusCode);
                await SettlementStack.RunLockAsync(otherWorker, "pg_advisory_unlock", pool.Id);
            }

            Assert.True(await Eventually.HoldsAsync(async () => (await stack.StatusAsync(pool.Id)).LastError?.StartsWith("bets-pending", StringComparison.Ordinal) == true,
                TimeSpan.FromSeconds(15)), "The requeued settlement never ran into the pending bet.");
            // The first run since the requeue waits about the initial second (±20 %), not the 60 s its eleventh run overall would.
            var retryAfterMs = await stack.SettlementScalarAsync(
                "SELECT (extract(epoch FROM next_attempt_at - updated_at) * 1000)::bigint FROM settlements WHERE pool_id = $1", pool.Id);
            Assert.InRange(retryAfterMs, 0, 10_000);

            await stack.BetEngine.GetRequiredService<PendingBetRecovery>().RecoverAsync(TimeSpan.Zero, default);
            await stack.WaitSettledAsync(pool.Id);
        }
        finally
        {
            await stack.StopSettlementAsync();
            stack.StartSettlement();
        }
        await stack.AssertLedgerExactAsync();
    }

    [Theory]
    [InlineData("23514")] // check_violation
    [InlineData("P0001")] // raise_exception, a trigger's own error
    public async Task A_database_error_no_retry_can_fix_stops_the_settlement_with_its_sqlstate_until_an_operator_requeues_it(string sqlState)
    {
        var pool = await stack.NewPoolAsync();
        var users = await stack.FundedUsersAsync(2, Funds);
        await stack.PlaceAsync(pool.Id, [(users[0], pool.Outcomes[0], 1_000), (users[1], pool.Outcomes[1], 1_000)]);
        var rake = await stack.BalanceAsync("house:rake");
        using var failures = new TaggedCounter("streambets.settlement.failures", "reason", pool.Id);

        // settlementdb refuses the pool's settled bets on every try, as a constraint or a trigger would.
        await using (await stack.FailWritesAsync("INSERT", "settled_bets", $"NEW.pool_id = '{pool.Id}'", sqlState))
        {
            await stack.LockAsync(pool.Id);
            await stack.ResolveAsync(pool.Id, pool.Outcomes[0]);
            Assert.True(await Eventually.HoldsAsync(async () => (await stack.StatusAsync(pool.Id)).Status == "failed", TimeSpan.FromSeconds(30)),
                $"The settlement is '{(await stack.StatusAsync(pool.Id)).Status}' ({(await stack.StatusAsync(pool.Id)).LastError}), not failed.");
        }
        Assert.StartsWith($"database-{sqlState}: ", (await stack.StatusAsync(pool.Id)).LastError);
        Assert.Equal(1, await stack.SettlementScalarAsync("SELECT attempts FROM settlements WHERE pool_id = $1", pool.Id));
        Assert.Equal(1, failures.Sum($"database-{sqlState}"));
        // The winner's payout moved before its record failed; the rake waits for the requeue.
        var balances = await stack.BalancesAsync([.. users.Select(u => $"user:{u}"), pool.Escrow]);
        Assert.Equal([Funds - 1_000 + 1_900, Funds - 1_000, 100], [balances[$"user:{users[0]}"], balances[$"user:{users[1]}"], balances[pool.Escrow]]);
        Assert.Equal(rake, await stack.BalanceAsync("house:rake"));
        Assert.Equal(0, await stack.SettlementScalarAsync("SELECT count(*) FROM settled_bets WHERE pool_id = $1", pool.Id));

        // The operator finds it among the failed settlements with its reason, fixes the database and requeues.
        using var admin = stack.SettlementClient(Guid.NewGuid(), "admin");
        var failed = await admin.GetFromJsonAsync<JsonElement>("/api/settlements?status=failed");
        var listed = Assert.Single(failed.GetProperty("items").EnumerateArray(), item => item.GetProperty("poolId").GetGuid() == pool.Id);
        Assert.StartsWith($"database-{sqlState}: ", listed.GetProperty("lastError").GetString());
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/settlements/{pool.Id}/requeue", null)).StatusCode);
        await stack.WaitSettledAsync(pool.Id);
        // The requeue did not reset the count: the rerun is attempt 2, a number no earlier run had.
        Assert.Equal(2, await stack.SettlementScalarAsync("SELECT attempts FROM settlements WHERE pool_id = $1", pool.Id));

        // The rerun's payout answered DUPLICATE: the winner was paid once.
        balances = await stack.BalancesAsync([.. users.Select(u => $"user:{u}"), pool.Escrow]);
        Assert.Equal([Funds - 1_000 + 1_900, Funds - 1_000, 0], [balances[$"user:{users[0]}"], balances[$"user:{users[1]}"], balances[pool.Escrow]]);
        Assert.Equal(rake + 100, await stack.BalanceAsync("house:rake"));
        Assert.Equal(2, await stack.SettlementScalarAsync("SELECT count(*) FROM settled_bets WHERE pool_id = $1", pool.Id));
        await stack.AssertLedgerExactAsync();
    }

    [Theory]
    [InlineData("40001")] // serialization_failure, transient by PostgreSQL's (Npgsql's) own list
    [InlineData("57014")] // query_canceled, as a statement_timeout on a busy server raises it
    public async Task A_database_error_time_can_fix_is_retried_with_its_sqlstate_and_the_pool_settles(string sqlState)
    {
        var pool = await stack.NewPoolAsync();
        var users = await stack.FundedUsersAsync(2, Funds);
        await stack.PlaceAsync(pool.Id, [(users[0], pool.Outcomes[0], 1_000), (users[1], pool.Outcomes[1], 1_000)]);
        var rake = await stack.BalanceAsync("house:rake");
        using var runs = new TaggedCounter("streambets.settlement.runs", "reason", pool.Id);
        // settlementdb fails the first write of the pool's settled bets, and only that one.
        await using var fault = await stack.FailWritesAsync("INSERT", "settled_bets", $"NEW.pool_id = '{pool.Id}'", sqlState, times: 1);

        await stack.LockAsync(pool.Id);
        await stack.ResolveAsync(pool.Id, pool.Outcomes[0]);
        await stack.WaitSettledAsync(pool.Id);

        Assert.True(await fault.FiredAsync());
        Assert.Equal(2, await stack.SettlementScalarAsync("SELECT attempts FROM settlements WHERE pool_id = $1", pool.Id));
        Assert.Equal(1, runs.Sum($"database-{sqlState}"));
        // The rerun's payout answered DUPLICATE: the winner was paid once.
        var balances = await stack.BalancesAsync([.. users.Select(u => $"user:{u}"), pool.Escrow]);
        Assert.Equal([Funds - 1_000 + 1_900, Funds - 1_000, 0], [balances[$"user:{users[0]}"], balances[$"user:{users[1]}"], balances[pool.Escrow]]);
        Assert.Equal(rake + 100, await stack.BalanceAsync("house:rake"));
        Assert.Equal(2, await stack.SettlementScalarAsync("SELECT count(*) FROM settled_bets WHERE pool_id = $1", pool.Id));
        await stack.AssertLedgerExactAsync();
    }

    [Theory]
    [InlineData("40001", true)] // serialization_failure
    [InlineData("40P01", true)] // deadlock_detected
    [InlineData("55P03", true)] // lock_not_available (lock_timeout)
    [InlineData("57P01", true)] // admin_shutdown (a failover)
    [InlineData("57014", true)] // query_canceled (statement_timeout)
    [InlineData("25P03", true)] // idle_in_transaction_session_timeout
    [InlineData("23505", false)] // unique_violation
    [InlineData("22003", false)] // numeric_value_out_of_range
    [InlineData("42703", false)] // undefined_column, after a bad deploy
    [InlineData("P0001", false)] // raise_exception
    public void A_postgresql_error_is_retried_only_when_time_can_fix_it(string sqlState, bool retried)
    {
        var error = new PostgresException("injected", "ERROR", "ERROR", sqlState);
        Assert.Equal((retried, $"database-{sqlState}"), (SettlementFailures.IsTransient(error), SettlementFailures.ReasonOf(error)));
    }

    [Fact]
    public void A_database_connection_lost_without_an_answer_from_postgresql_is_retried()
    {
        var error = new NpgsqlException("Exception while reading from stream", new IOException("connection reset"));
        Assert.Equal((true, "database"), (SettlementFailures.IsTransient(error), SettlementFailures.ReasonOf(error)));
    }

    private async Task<Guid[]> SettledBetIdsAsync(Guid poolId)
    {
        await using var command = stack.SettlementDb.CreateCommand("SELECT bet_id FROM settled_bets WHERE pool_id = $1 ORDER BY bet_id");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = poolId });
        await using var reader = await command.ExecuteReaderAsync();
        var ids = new List<Guid>();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetGuid(0));
        }
        return [.. ids.Order()];
    }

    /// <summary>Exactly these bets are announced in the pool's BetsSettled events, each in one event.</summary>
    private async Task AssertAnnouncedOnceEachAsync(Guid poolId, Guid[] betIds)
    {
        List<JsonElement> lines = [];
        Assert.True(await Eventually.HoldsAsync(async () =>
        {
            lines = await stack.SettledBetLinesAsync(poolId);
            return lines.Count >= betIds.Length;
        }, TimeSpan.FromSeconds(15)), $"Only {lines.Count} bets were announced in BetsSettled for {betIds.Length}.");
        Assert.Equal(betIds.Order(), lines.Select(l => l.GetProperty("betId").GetGuid()).Order());
    }

    [Theory]
    [InlineData(nameof(BetEngineClient))]
    [InlineData(nameof(PoolsClient))]
    public async Task A_stream_that_goes_silent_fails_the_run_as_transient_and_the_retry_settles_the_pool(string silentClient)
    {
        var pool = await stack.NewPoolAsync();
        var users = await stack.FundedUsersAsync(2, Funds);
        await stack.PlaceAsync(pool.Id, [(users[0], pool.Outcomes[0], 1_000), (users[1], pool.Outcomes[1], 1_000)]);
        // The peer's host vanishes mid-call without closing the connection: the first stream never sends another message.
        var silent = new FirstStreamGoesSilent();
        await stack.StopSettlementAsync();
        stack.StartSettlement(services =>
        {
            services.Configure<SettlementOptions>(o => o.StreamIdleTimeout = TimeSpan.FromSeconds(1));
            services.Configure<GrpcClientFactoryOptions>(silentClient, o => o.InterceptorRegistrations.Add(new InterceptorRegistration(InterceptorScope.Client, _ => silent)));
        });
        try
        {
            await stack.LockAsync(pool.Id);
            await stack.ResolveAsync(pool.Id, pool.Outcomes[0]);
            await silent.Silenced.WaitAsync(TimeSpan.FromSeconds(15));

            // Given up after the idle timeout (the pool's lock released), retried, and settled by the second run.
            await silent.GivenUp.WaitAsync(TimeSpan.FromSeconds(10));
            await stack.WaitSettledAsync(pool.Id, TimeSpan.FromSeconds(15));
        }
        finally
        {
            await stack.StopSettlementAsync();
            stack.StartSettlement();
        }

        Assert.Equal(2, await stack.SettlementScalarAsync("SELECT attempts FROM settlements WHERE pool_id = $1", pool.Id));
        var balances = await stack.BalancesAsync([.. users.Select(u => $"user:{u}"), pool.Escrow]);
        Assert.Equal([Funds - 1_000 + 1_900, Funds - 1_000, 0], [balances[$"user:{users[0]}"], balances[$"user:{users[1]}"], balances[pool.Escrow]]);
        await stack.AssertLedgerExactAsync();
    }

    /// <summary>The <c>settle pool</c> spans of one pool's runs, as each ends: its attempt, when it began and ended.</summary>
    private sealed class RunSpans : IDisposable
    {
        private readonly System.Diagnostics.ActivityListener _listener;
        private readonly System.Collections.Concurrent.ConcurrentQueue<(int Attempt, DateTime Start, DateTime End)> _ended = new();

        public RunSpans(Guid poolId)
        {
            _listener = new System.Diagnostics.ActivityListener
            {
                ShouldListenTo = source => source.Name == SettlementTelemetry.Name,
                Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = span =>
                {
                    if (span.OperationName == "settle pool" && span.GetTagItem("streambets.pool_id") is Guid id && id == poolId)
                    {
                        _ended.Enqueue((Convert.ToInt32(span.GetTagItem("streambets.settlement.attempt"), System.Globalization.CultureInfo.InvariantCulture), span.StartTimeUtc, span.StartTimeUtc + span.Duration));
                    }
                },
            };
            System.Diagnostics.ActivitySource.AddActivityListener(_listener);
        }

        public IReadOnlyList<(int Attempt, DateTime Start, DateTime End)> Ended => [.. _ended];

        public void Dispose() => _listener.Dispose();
    }

    private static AdmittedBet Admit(Guid userId, TestPool pool, Guid outcomeId, long stakeMinor) =>
        new(new PlaceBetCommand(userId, pool.Id, outcomeId, stakeMinor, $"late-{Guid.NewGuid():N}"), Guid.CreateVersion7(), DateTimeOffset.UtcNow);

    /// <summary>The first server stream of the client (StreamPoolBets or CalculatePayouts) never yields a message; later calls are untouched.</summary>
    private sealed class FirstStreamGoesSilent : Interceptor
    {
        private int _calls;
        private readonly TaskCompletionSource _silenced = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _givenUp = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The run waits for the silent stream's next message.</summary>
        public Task Silenced => _silenced.Task;

        /// <summary>The run stopped waiting for it.</summary>
        public Task GivenUp => _givenUp.Task;

        public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(
            TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncServerStreamingCallContinuation<TRequest, TResponse> continuation)
        {
            var call = continuation(request, context);
            return Interlocked.Increment(ref _calls) == 1
                ? new AsyncServerStreamingCall<TResponse>(new SilentStream<TResponse>(this), call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose)
                : call;
        }

        public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(
            ClientInterceptorContext<TRequest, TResponse> context, AsyncDuplexStreamingCallContinuation<TRequest, TResponse> continuation)
        {
            var call = continuation(context);
            return Interlocked.Increment(ref _calls) == 1
                ? new AsyncDuplexStreamingCall<TRequest, TResponse>(call.RequestStream, new SilentStream<TResponse>(this), call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose)
                : call;
        }

        private sealed class SilentStream<T>(FirstStreamGoesSilent owner) : IAsyncStreamReader<T>
        {
            public T Current => throw new InvalidOperationException("The stream never sent a message.");

            public async Task<bool> MoveNext(CancellationToken cancellationToken)
            {
                owner._silenced.TrySetResult();
                try
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                }
                finally
                {
                    owner._givenUp.TrySetResult();
                }
                throw new InvalidOperationException("Unreachable: the delay is infinite.");
            }
        }
    }
}
