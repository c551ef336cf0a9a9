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
        var plan = await QueryPlans.ExplainAsync(database, PoolStore.DueForAutoCancelSql, [now, TimeSpan.FromHours(24), 200]);

        Assert.Contains("pools_locked_by_abandons_at", plan);
        Assert.Contains("pools_locked_without_deadline_by_locked_at", plan);
        Assert.DoesNotContain("Seq Scan", plan);
    }
}
