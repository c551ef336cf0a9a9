using Microsoft.Extensions.DependencyInjection;
using StreamBets.Settlement.Payouts;
using StreamBets.Testing;

namespace StreamBets.Settlement.Tests;

/// <summary>
/// Run locks held by a session that runs nothing: a vanished host's, which PostgreSQL keeps (with its locks) until TCP
/// keepalive gives up, about 2 h by Linux defaults. The pools it holds wait without holding back any other, and say why.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class RunLockTests(SettlementStack stack)
{
    private const long Funds = 10_000;

    [Fact]
    public async Task Sixteen_pools_locked_by_a_lost_session_do_not_hold_back_a_newer_due_pool()
    {
        // A vanished host's session still holds the run locks of 16 running settlements, the longest-waiting of all.
        var locked = Enumerable.Range(0, 16).Select(_ => Guid.NewGuid()).ToArray();
        await using var lostHost = await stack.OpenSessionAsync();
        foreach (var poolId in locked)
        {
            await SettlementStack.RunLockAsync(lostHost, "pg_advisory_lock", poolId);
        }
        await stack.SettlementScalarAsync("""
            INSERT INTO settlements (pool_id, kind, status, created_at, updated_at, next_attempt_at, attempts, started_at)
            SELECT id, 'resolved', 'running', now() - interval '1 hour', now() - interval '1 hour', now() - interval '1 hour', 1, now() - interval '1 hour'
            FROM unnest($1::uuid[]) AS id
            """, locked);
        try
        {
            var pool = await stack.NewPoolAsync();
            var users = await stack.FundedUsersAsync(2, Funds);
            await stack.PlaceAsync(pool.Id, [(users[0], pool.Outcomes[0], 1_000), (users[1], pool.Outcomes[1], 1_000)]);

            await stack.LockAsync(pool.Id);
            await stack.ResolveAsync(pool.Id, pool.Outcomes[0]);
            await stack.WaitSettledAsync(pool.Id, TimeSpan.FromSeconds(20));

            // T = 2,000; rake 100; the one winner gets 1,900.
            var balances = await stack.BalancesAsync([.. users.Select(u => $"user:{u}"), pool.Escrow]);
            Assert.Equal([Funds - 1_000 + 1_900, Funds - 1_000, 0], [balances[$"user:{users[0]}"], balances[$"user:{users[1]}"], balances[pool.Escrow]]);
            // Nobody took the lost session's locks: its pools were never started again.
            Assert.Equal(16, await stack.SettlementScalarAsync("SELECT count(*) FROM settlements WHERE pool_id = ANY($1) AND status = 'running' AND attempts = 1", locked));
            await stack.AssertLedgerExactAsync();
        }
        finally
        {
            // Gone before the locks are, so no worker runs these pools that never existed.
            await stack.SettlementScalarAsync("DELETE FROM settlements WHERE pool_id = ANY($1)", locked);
        }
    }

    [Fact]
    public async Task A_due_pool_locked_by_a_lost_session_says_who_holds_it_and_settles_once_the_runbook_ends_that_session()
    {
        await stack.StopSettlementAsync();
        stack.StartSettlement(services => services.Configure<SettlementOptions>(o => o.StuckLockThreshold = TimeSpan.FromSeconds(1)));
        try
        {
            var pool = await stack.NewPoolAsync();
            var users = await stack.FundedUsersAsync(2, Funds);
            await stack.PlaceAsync(pool.Id, [(users[0], pool.Outcomes[0], 1_234), (users[1], pool.Outcomes[1], 999)]);
            await using var lostHost = await stack.OpenSessionAsync();
            await SettlementStack.RunLockAsync(lostHost, "pg_advisory_lock", pool.Id);

            await stack.CancelAsync(pool.Id);
            Assert.True(await Eventually.HoldsAsync(async () => (await stack.StatusAsync(pool.Id)).Status is not null, TimeSpan.FromSeconds(15)),
                "Settlement never recorded the cancelled pool.");

            // Past the threshold without progress, the backlog read explains the wait: which session, from where, since when.
            var backlog = stack.Settlement.Services.GetRequiredService<SettlementBacklog>();
            string? error = null;
            Assert.True(await Eventually.HoldsAsync(async () =>
            {
                await backlog.ReportAsync(default);
                error = (await stack.StatusAsync(pool.Id)).LastError;
                return error is not null;
            }, TimeSpan.FromSeconds(10)), "The stuck settlement's last_error never said why.");
            Assert.StartsWith($"run-lock-held: locked by PostgreSQL session pid {lostHost.ProcessID} (client ", error);
            Assert.Contains("docs/runbook.md", error);
            Assert.True(SettlementMetrics.Gauges()["streambets.settlement.stuck_on_lock"] >= 1);
            // It explains; it never takes the lock: the pool has not started.
            Assert.Equal(("due", 0L), ((await stack.StatusAsync(pool.Id)).Status, await stack.SettlementScalarAsync("SELECT attempts FROM settlements WHERE pool_id = $1", pool.Id)));

            // The runbook's recipe: find the holder of the pool's run lock, then end its session.
            var holder = await stack.SettlementScalarAsync("""
                SELECT l.pid FROM pg_locks l
                WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 727275 AND l.objid = hashtext($1)::oid AND l.objsubid = 2
                  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                """, pool.Id.ToString());
            Assert.Equal(lostHost.ProcessID, holder);
            await stack.SettlementScalarAsync("SELECT pg_terminate_backend($1::int)::int", holder);
            await stack.WaitSettledAsync(pool.Id);

            var balances = await stack.BalancesAsync([.. users.Select(u => $"user:{u}"), pool.Escrow]);
            Assert.Equal([Funds, Funds, 0], [balances[$"user:{users[0]}"], balances[$"user:{users[1]}"], balances[pool.Escrow]]);
            Assert.Null((await stack.StatusAsync(pool.Id)).LastError);
            await stack.AssertLedgerExactAsync();
        }
        finally
        {
            await stack.StopSettlementAsync();
            stack.StartSettlement();
        }
    }
}
