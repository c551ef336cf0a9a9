using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using StreamBets.Settlement.Data;
using StreamBets.Settlement.Payouts;
using StreamBets.Testing;

namespace StreamBets.Settlement.Tests;

/// <summary>What SREs read of settlement: metrics tagged as the money moved, and gauges that outlive a restart.</summary>
[Collection(StackCollection.Name)]
public sealed class SettlementTelemetryTests(SettlementStack stack)
{
    private const long Funds = 10_000;

    [Fact]
    public async Task A_cancelled_pools_stakes_count_as_refunded_not_paid_out()
    {
        var pool = await stack.NewPoolAsync();
        var users = await stack.FundedUsersAsync(2, Funds);
        await stack.PlaceAsync(pool.Id, [(users[0], pool.Outcomes[0], 1_234), (users[1], pool.Outcomes[1], 999)]);
        using var paid = new TaggedCounter("streambets.settlement.paid", "reason", pool.Id);
        using var betsSettled = new TaggedCounter("streambets.settlement.bets_settled", "result", pool.Id);

        await stack.CancelAsync(pool.Id);
        await stack.WaitSettledAsync(pool.Id);

        // The transfers say refund; so does the metric.
        Assert.Equal((2_233L, 0L), (paid.Sum(PoolSettlementRun.RefundReason), paid.Sum(PoolSettlementRun.PayoutReason)));
        Assert.Equal((2L, 0L, 0L, 0L), (betsSettled.Sum("refunded"), betsSettled.Sum("won"), betsSettled.Sum("lost"), betsSettled.Sum("")));
    }

    [Fact]
    public async Task A_resolved_pools_bets_count_as_won_and_lost_and_the_winners_money_as_paid_out()
    {
        var pool = await stack.NewPoolAsync();
        var users = await stack.FundedUsersAsync(2, Funds);
        await stack.PlaceAsync(pool.Id, [(users[0], pool.Outcomes[0], 1_000), (users[1], pool.Outcomes[1], 1_000)]);
        using var paid = new TaggedCounter("streambets.settlement.paid", "reason", pool.Id);
        using var betsSettled = new TaggedCounter("streambets.settlement.bets_settled", "result", pool.Id);

        await stack.LockAsync(pool.Id);
        await stack.ResolveAsync(pool.Id, pool.Outcomes[0]);
        await stack.WaitSettledAsync(pool.Id);

        // T = 2,000; rake 100; the one winner gets 1,900.
        Assert.Equal((1_900L, 0L), (paid.Sum(PoolSettlementRun.PayoutReason), paid.Sum(PoolSettlementRun.RefundReason)));
        Assert.Equal((1L, 1L, 0L), (betsSettled.Sum("won"), betsSettled.Sum("lost"), betsSettled.Sum("refunded")));
    }

    [Fact]
    public async Task A_pool_settled_with_money_left_in_its_escrow_stays_on_the_residue_gauge_and_list_after_a_restart()
    {
        var clean = await stack.NewPoolAsync();
        await stack.CancelAsync(clean.Id);
        var pool = await stack.NewPoolAsync();
        var users = await stack.FundedUsersAsync(3, Funds);
        await stack.PlaceAsync(pool.Id, [(users[0], pool.Outcomes[0], 1_000), (users[1], pool.Outcomes[1], 1_000)]);
        // One minor unit reached the escrow that no accepted bet accounts for.
        await stack.MoveAsync($"user:{users[2]}", pool.Escrow, 1);

        await stack.LockAsync(pool.Id);
        await stack.ResolveAsync(pool.Id, pool.Outcomes[0]);
        await stack.WaitSettledAsync(pool.Id);
        await stack.WaitSettledAsync(clean.Id);
        Assert.Equal(1, await stack.SettlementScalarAsync("SELECT escrow_residue_minor FROM settlements WHERE pool_id = $1", pool.Id));

        // The gauge is read from settlementdb, so it counts every such pool after a restart, where the counter starts at
        // 0: also one another process settled before this one started, and never from what this process remembers.
        await AssertResidueGaugeAsync();
        await stack.StopSettlementAsync();
        var settledElsewhere = Guid.NewGuid();
        await stack.SettlementScalarAsync("""
            INSERT INTO settlements (pool_id, kind, status, created_at, updated_at, next_attempt_at, finished_at, escrow_residue_minor)
            VALUES ($1, 'resolved', 'settled', now(), now(), now(), now(), 7)
            """, settledElsewhere);
        SettlementTelemetry.ReportBacklog(new SettlementBacklogCounts(0, null, 0, 0), TimeSpan.Zero); // a new process's gauges
        stack.StartSettlement();
        try
        {
            // The fresh host reports on its own, at its start.
            var residuePools = await stack.SettlementScalarAsync("SELECT count(*) FROM settlements WHERE status = 'settled' AND escrow_residue_minor <> 0");
            Assert.InRange(residuePools, 2, long.MaxValue);
            Assert.True(await Eventually.HoldsAsync(
                () => Task.FromResult(SettlementMetrics.Gauges()["streambets.settlement.escrow_residue_pools"] == residuePools), TimeSpan.FromSeconds(10)),
                $"The restarted host's residue gauge never read {residuePools}.");

            // An operator lists exactly those pools.
            using var admin = stack.SettlementClient(Guid.NewGuid(), "admin");
            var page = await admin.GetFromJsonAsync<JsonElement>("/api/settlements?residue=true&limit=100");
            var items = page.GetProperty("items").EnumerateArray().ToArray();
            var listed = Assert.Single(items, item => item.GetProperty("poolId").GetGuid() == pool.Id);
            Assert.Equal(("settled", 1L), (listed.GetProperty("status").GetString(), listed.GetProperty("escrowResidueMinor").GetInt64()));
            Assert.Contains(items, item => item.GetProperty("poolId").GetGuid() == settledElsewhere);
            Assert.All(items, item => Assert.NotEqual(0, item.GetProperty("escrowResidueMinor").GetInt64()));
            Assert.DoesNotContain(items, item => item.GetProperty("poolId").GetGuid() == clean.Id);
        }
        finally
        {
            await stack.SettlementScalarAsync("DELETE FROM settlements WHERE pool_id = $1", settledElsewhere);
        }
    }

    [Fact]
    public async Task A_residue_is_counted_once_although_marking_the_pool_settled_failed_once()
    {
        var pool = await stack.NewPoolAsync();
        var users = await stack.FundedUsersAsync(3, Funds);
        await stack.PlaceAsync(pool.Id, [(users[0], pool.Outcomes[0], 1_000), (users[1], pool.Outcomes[1], 1_000)]);
        // One minor unit no accepted bet accounts for; settlementdb fails the first write of the settled status.
        await stack.MoveAsync($"user:{users[2]}", pool.Escrow, 1);
        await using var fault = await stack.FailFirstUpdateAsync(pool.Id, "NEW.status = 'settled'");
        using var residues = new TaggedCounter("streambets.settlement.escrow_residues", "reason", pool.Id);

        await stack.LockAsync(pool.Id);
        await stack.ResolveAsync(pool.Id, pool.Outcomes[0]);
        await stack.WaitSettledAsync(pool.Id);

        // The second run found the same residue and settled the pool: one pool, counted once.
        Assert.True(await fault.FiredAsync());
        Assert.Equal(2, await stack.SettlementScalarAsync("SELECT attempts FROM settlements WHERE pool_id = $1", pool.Id));
        Assert.Equal(1, await stack.SettlementScalarAsync("SELECT escrow_residue_minor FROM settlements WHERE pool_id = $1", pool.Id));
        Assert.Equal(1, residues.Sum(""));
    }

    [Fact]
    public async Task The_failed_gauge_still_updates_when_looking_for_pools_stuck_on_their_lock_fails()
    {
        var failedPool = Guid.NewGuid();
        await stack.SettlementScalarAsync("""
            INSERT INTO settlements (pool_id, kind, status, created_at, updated_at, next_attempt_at, attempts, last_error, finished_at)
            VALUES ($1, 'resolved', 'failed', now(), now(), now(), 1, 'payment-refused: test', now())
            """, failedPool);
        // The stuck check reads updated_at (progress) and the counts do not: without it, only the stuck check fails.
        await stack.SettlementScalarAsync("ALTER TABLE settlements RENAME COLUMN updated_at TO updated_at_hidden");
        try
        {
            SettlementTelemetry.ReportBacklog(new SettlementBacklogCounts(0, null, 0, 0), TimeSpan.Zero);

            await stack.Settlement.Services.GetRequiredService<SettlementBacklog>().ReportAsync(default);

            var failed = await stack.SettlementScalarAsync("SELECT count(*) FROM settlements WHERE status = 'failed'");
            Assert.InRange(failed, 1, long.MaxValue);
            Assert.Equal(failed, SettlementMetrics.Gauges()["streambets.settlement.failed"]);
        }
        finally
        {
            await stack.SettlementScalarAsync("ALTER TABLE settlements RENAME COLUMN updated_at_hidden TO updated_at");
            await stack.SettlementScalarAsync("DELETE FROM settlements WHERE pool_id = $1", failedPool);
        }
    }

    [Fact]
    public async Task A_pool_whose_event_Settlement_handles_late_has_waited_since_the_pool_finished()
    {
        var pool = await stack.NewPoolAsync();
        // Another replica's worker holds the pool's run lock, so the settlement is still due when the gauge is read.
        await using var otherWorker = await stack.OpenSessionAsync();
        await SettlementStack.RunLockAsync(otherWorker, "pg_advisory_lock", pool.Id);
        // Settlement's consumer is behind (stopped here): the pool's PoolCancelled is handled seconds after it finished,
        // as it could be hours.
        await stack.StopSettlementAsync();
        DateTimeOffset cancelling, cancelled;
        try
        {
            cancelling = DateTimeOffset.UtcNow;
            await stack.CancelAsync(pool.Id);
            cancelled = DateTimeOffset.UtcNow;
            await Task.Delay(TimeSpan.FromSeconds(2));
        }
        finally
        {
            stack.StartSettlement();
        }
        Assert.True(await Eventually.HoldsAsync(async () => (await stack.StatusAsync(pool.Id)).Status is not null, TimeSpan.FromSeconds(15)),
            "Settlement never recorded the cancelled pool.");

        // Due since the pool was cancelled, not since the late handler ran.
        var settlement = await stack.Settlement.Services.GetRequiredService<SettlementStore>().FindAsync(pool.Id, default);
        Assert.InRange(settlement!.CreatedAt, cancelling.AddMilliseconds(-1), cancelled);
        var reading = DateTimeOffset.UtcNow;
        await stack.Settlement.Services.GetRequiredService<SettlementBacklog>().ReportAsync(default);
        var oldestAge = SettlementMetrics.Gauges()["streambets.settlement.oldest_waiting_age"];
        Assert.True(oldestAge >= (reading - cancelled).TotalSeconds, $"oldest age {oldestAge} s; the pool finished over {(reading - cancelled).TotalSeconds:F1} s ago");

        await SettlementStack.RunLockAsync(otherWorker, "pg_advisory_unlock", pool.Id);
        await stack.WaitSettledAsync(pool.Id);
    }

    private async Task AssertResidueGaugeAsync()
    {
        await stack.Settlement.Services.GetRequiredService<SettlementBacklog>().ReportAsync(default);
        var pools = await stack.SettlementScalarAsync("SELECT count(*) FROM settlements WHERE status = 'settled' AND escrow_residue_minor <> 0");
        Assert.InRange(pools, 1, long.MaxValue);
        Assert.Equal(pools, SettlementMetrics.Gauges()["streambets.settlement.escrow_residue_pools"]);
    }
}
