using Microsoft.Extensions.Hosting;
using Npgsql;
using StreamBets.Pools.Data;
using StreamBets.Testing;

namespace StreamBets.Pools.IntegrationTests;

/// <summary>The sweeper asks every second which locked pools are due to cancel: it must read only those, by index.</summary>
public sealed class PoolSweepQueryPlanTests
{
    [Fact]
    public async Task Pools_due_to_cancel_are_found_by_their_deadline_and_pools_locked_without_one_by_their_lock_time()
    {
        var connectionString = await (await TestServers.PostgresAsync()).CreateDatabaseAsync("pool-sweep-plan");
        await PostgresSchema.MigrateAsync(connectionString, typeof(PoolStore).Assembly);
        await using var database = NpgsqlDataSource.Create(connectionString);
        // Many finished pools, some locked ones with deadlines, and a few without one (stored before pools kept a term, or
        // locked by an old replica during a rolling deploy: a term but no deadline).
        await using (var fill = database.CreateCommand("""
            INSERT INTO pools (id, channel_provider, channel_id, created_by, title, betting_window, min_stake_minor, max_stake_minor,
                               rake_bps, state, exclusive, created_at, locked_at, auto_cancel_after, abandons_at)
            SELECT gen_random_uuid(), 'twitch', 'channel' || g, gen_random_uuid(), 'Who wins?', interval '60 seconds', 100, 10000, 500,
                   CASE WHEN g % 10 = 0 THEN 'locked' ELSE 'resolved' END, false, now() - interval '3 days',
                   now() - (g % 72) * interval '1 hour',
                   CASE WHEN g % 200 = 0 THEN NULL ELSE interval '72 hours' END,
                   CASE WHEN g % 100 = 0 THEN NULL ELSE now() - (g % 72) * interval '1 hour' + interval '72 hours' END
            FROM generate_series(1, 50000) g;
            ANALYZE pools;
            """))
        {
            await fill.ExecuteNonQueryAsync();
        }

        var now = DateTimeOffset.UtcNow;
        var term = TimeSpan.FromHours(24);
        var cursor = now - TimeSpan.FromHours(30);
        // Each query's first page, and a next page after a cursor (the sweeper pages on; it never asks from the start again).
        var deadlines = await QueryPlans.ExplainAsync(database, PoolStore.FirstPage(PoolStore.DueForAutoCancelSql), [now, term, 200]);
        var deadlinesNext = await QueryPlans.ExplainAsync(
            database, PoolStore.NextPage(PoolStore.DueForAutoCancelSql, "abandons_at"), [now, term, 200, cursor, Guid.NewGuid()]);
        var undated = await QueryPlans.ExplainAsync(database, PoolStore.FirstPage(PoolStore.DueForAutoCancelWithoutDeadlineSql), [now, term, 200]);
        var undatedNext = await QueryPlans.ExplainAsync(
            database, PoolStore.NextPage(PoolStore.DueForAutoCancelWithoutDeadlineSql, "locked_at"), [now, term, 200, cursor, Guid.NewGuid()]);
        var overdue = await QueryPlans.ExplainAsync(database, PoolStore.OverdueSql, [now, term]);

        Assert.Contains("pools_locked_by_abandons_at", deadlines);
        Assert.Contains("pools_locked_by_abandons_at", deadlinesNext);
        Assert.Contains("pools_locked_without_deadline_by_locked_at", undated);
        Assert.Contains("pools_locked_without_deadline_by_locked_at", undatedNext);
        Assert.Contains("pools_locked_by_abandons_at", overdue);
        Assert.Contains("pools_locked_without_deadline_by_locked_at", overdue);
        Assert.Contains("pools_open_by_locks_at", overdue);
        Assert.All([deadlines, deadlinesNext, undated, undatedNext, overdue], plan => Assert.DoesNotContain("Seq Scan", plan));
    }

    [Fact]
    public async Task Pools_due_to_lock_are_found_by_their_lock_time_on_every_page()
    {
        var connectionString = await (await TestServers.PostgresAsync()).CreateDatabaseAsync("pool-lock-plan");
        await PostgresSchema.MigrateAsync(connectionString, typeof(PoolStore).Assembly);
        await using var database = NpgsqlDataSource.Create(connectionString);
        // Many finished pools and some open ones, a few of them past their lock time.
        await using (var fill = database.CreateCommand("""
            INSERT INTO pools (id, channel_provider, channel_id, created_by, title, betting_window, min_stake_minor, max_stake_minor,
                               rake_bps, state, exclusive, created_at, opened_at, locks_at)
            SELECT gen_random_uuid(), 'twitch', 'channel' || g, gen_random_uuid(), 'Who wins?', interval '60 seconds', 100, 10000, 500,
                   CASE WHEN g % 10 = 0 THEN 'open' ELSE 'resolved' END, false, now() - interval '3 days', now() - interval '3 days',
                   now() + (g % 600 - 20) * interval '1 second'
            FROM generate_series(1, 50000) g;
            ANALYZE pools;
            """))
        {
            await fill.ExecuteNonQueryAsync();
        }

        var now = DateTimeOffset.UtcNow;
        var first = await QueryPlans.ExplainAsync(database, PoolStore.FirstPage(PoolStore.DueForLockSql), [now, TimeSpan.FromHours(24), 200]);
        var next = await QueryPlans.ExplainAsync(
            database, PoolStore.NextPage(PoolStore.DueForLockSql, "locks_at"), [now, TimeSpan.FromHours(24), 200, now - TimeSpan.FromSeconds(10), Guid.NewGuid()]);

        Assert.All([first, next], plan =>
        {
            Assert.Contains("pools_open_by_locks_at", plan);
            Assert.DoesNotContain("Seq Scan", plan);
        });
    }
}
