using Microsoft.Extensions.Hosting;
using Npgsql;
using StreamBets.Pools.Data;
using StreamBets.Testing;

namespace StreamBets.Pools.IntegrationTests;

/// <summary>
/// Opening a pool on a channel with "one active pool per channel" asks whether the channel has a live pool, holding the
/// channel's owner row: it must read only live pools, by index, however many finished pools months of streams left.
/// </summary>
public sealed class PoolCreationQueryPlanTests
{
    [Fact]
    public async Task Whether_a_channel_has_a_live_pool_is_read_from_the_live_pools_index()
    {
        var connectionString = await (await TestServers.PostgresAsync()).CreateDatabaseAsync("pool-create-plan");
        await PostgresSchema.MigrateAsync(connectionString, typeof(PoolStore).Assembly);
        await using var database = NpgsqlDataSource.Create(connectionString);
        await using (var fill = database.CreateCommand("""
            INSERT INTO pools (id, channel_provider, channel_id, created_by, title, betting_window, min_stake_minor, max_stake_minor,
                               rake_bps, state, exclusive, created_at, locks_at)
            SELECT gen_random_uuid(), 'twitch', 'channel' || (g % 500), gen_random_uuid(), 'Who wins?', interval '60 seconds', 100, 10000, 500,
                   CASE WHEN g % 1000 = 0 THEN 'open' WHEN g % 3 = 0 THEN 'cancelled' ELSE 'resolved' END, false,
                   now() - interval '3 days', now() - interval '3 days'
            FROM generate_series(1, 50000) g;
            ANALYZE pools;
            """))
        {
            await fill.ExecuteNonQueryAsync();
        }

        var plan = await QueryPlans.ExplainAsync(database, PoolStore.ChannelHasActivePoolSql, ["twitch", "channel7"]);

        Assert.Contains("pools_live_by_channel", plan);
        Assert.DoesNotContain("Seq Scan", plan);
    }
}
