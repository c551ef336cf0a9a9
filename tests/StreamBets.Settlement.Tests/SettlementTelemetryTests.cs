using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using StreamBets.Settlement.Payouts;

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
        using var paid = new TaggedCounter("streambets.settlement.paid", "reason");
        using var betsSettled = new TaggedCounter("streambets.settlement.bets_settled", "result");

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
        using var paid = new TaggedCounter("streambets.settlement.paid", "reason");
        using var betsSettled = new TaggedCounter("streambets.settlement.bets_settled", "result");

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

        // The gauge is read from settlementdb, so it still counts the pool after a restart, where the counter starts at 0.
        await AssertResidueGaugeAsync();
        await stack.StopSettlementAsync();
        stack.StartSettlement();
        await AssertResidueGaugeAsync();

        // An operator lists exactly those pools.
        using var admin = stack.SettlementClient(Guid.NewGuid(), "admin");
        var page = await admin.GetFromJsonAsync<JsonElement>("/api/settlements?residue=true&limit=100");
        var items = page.GetProperty("items").EnumerateArray().ToArray();
        var listed = Assert.Single(items, item => item.GetProperty("poolId").GetGuid() == pool.Id);
        Assert.Equal(("settled", 1L), (listed.GetProperty("status").GetString(), listed.GetProperty("escrowResidueMinor").GetInt64()));
        Assert.All(items, item => Assert.NotEqual(0, item.GetProperty("escrowResidueMinor").GetInt64()));
        Assert.DoesNotContain(items, item => item.GetProperty("poolId").GetGuid() == clean.Id);
    }

    private async Task AssertResidueGaugeAsync()
    {
        await stack.Settlement.Services.GetRequiredService<SettlementBacklog>().ReportAsync(default);
        var pools = await stack.SettlementScalarAsync("SELECT count(*) FROM settlements WHERE status = 'settled' AND escrow_residue_minor <> 0");
        Assert.InRange(pools, 1, long.MaxValue);
        Assert.Equal(pools, SettlementMetrics.Gauges()["streambets.settlement.escrow_residue_pools"]);
    }
}
