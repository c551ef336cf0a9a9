using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using StackExchange.Redis;
using StreamBets.Pools.Leaderboards;
using StreamBets.Testing;

namespace StreamBets.Pools.IntegrationTests;

/// <summary>
/// A settled batch's score sums must stay index probes per player however big the day's boards grow: a plan that reads
/// the whole day costs nothing in a small test database and grew with every batch of a big pool's settlement.
/// </summary>
public sealed class LeaderboardQueryPlanTests
{
    [Fact]
    public async Task The_scores_of_a_settled_batch_probe_each_player_even_when_the_statistics_are_stale()
    {
        await using var database = await MigratedDatabaseAsync("leaderboard-plan");

        // As during a big pool's settlement: the statistics were taken when today's boards were small, and 200,000 new
        // players were added since, faster than autovacuum's ANALYZE follows (here it never does).
        await ExecuteAsync(database, """
            ALTER TABLE leaderboard_entries SET (autovacuum_enabled = false);
            ALTER TABLE leaderboard_totals SET (autovacuum_enabled = false);
            INSERT INTO leaderboard_entries SELECT 'twitch:big', current_date, gen_random_uuid(), 100 FROM generate_series(1, 20000);
            INSERT INTO leaderboard_totals SELECT user_id, channel, net_minor FROM leaderboard_entries;
            ANALYZE leaderboard_entries, leaderboard_totals;
            INSERT INTO leaderboard_entries SELECT 'twitch:big', current_date, gen_random_uuid(), 100 FROM generate_series(1, 200000);
            INSERT INTO leaderboard_totals SELECT user_id, channel, net_minor FROM leaderboard_entries ON CONFLICT DO NOTHING;
            """);
        var text = await ScoresPlanAsync(database, "twitch:big");
        Assert.DoesNotContain("Seq Scan", text);
        Assert.DoesNotContain("leaderboard_entries_by_day", text);
        Assert.Contains("Index Scan using leaderboard_entries_pkey", text);
        Assert.Contains("Index Scan using leaderboard_totals_pkey", text);
    }

    /// <summary>
    /// A board table that has no statistics yet (new, and autovacuum's ANALYZE not come round) makes the planner guess
    /// hundreds of rows per player, and the guessed cost put the sums past <c>jit_above_cost</c>: PostgreSQL then
    /// compiled them with LLVM on every call, 90-170 ms each, while a big pool settled. The migrator turns JIT off.
    /// </summary>
    [Fact]
    public async Task The_scores_of_a_settled_batch_are_not_jit_compiled_when_a_table_has_no_statistics()
    {
        await using var database = await MigratedDatabaseAsync("leaderboard-jit");
        await ExecuteAsync(database, """
            ALTER TABLE leaderboard_totals SET (autovacuum_enabled = false);
            INSERT INTO leaderboard_entries SELECT 'twitch:new', current_date, gen_random_uuid(), 100 FROM generate_series(1, 100000);
            ANALYZE leaderboard_entries;
            INSERT INTO leaderboard_totals SELECT user_id, channel, net_minor FROM leaderboard_entries;
            """);
        var text = await ScoresPlanAsync(database, "twitch:new");
        Assert.Contains("leaderboard_totals_pkey", text);
        Assert.DoesNotContain("JIT", text);
    }

    /// <summary>A reader off the board gets their net from PostgreSQL on every read: their own rows only, on any scope.</summary>
    [Fact]
    public async Task A_readers_own_net_reads_only_their_rows()
    {
        await using var database = await MigratedDatabaseAsync("leaderboard-reader");
        await ExecuteAsync(database, """
            INSERT INTO leaderboard_entries SELECT 'twitch:big', current_date - (g % 7), gen_random_uuid(), 100 FROM generate_series(1, 100000) g;
            INSERT INTO leaderboard_totals SELECT user_id, channel, sum(net_minor) FROM leaderboard_entries GROUP BY user_id, channel;
            ANALYZE leaderboard_entries, leaderboard_totals;
            """);
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        foreach (var channel in new object[] { "twitch:big", DBNull.Value })
        {
            var window = await QueryPlans.ExplainAsync(database, Leaderboards.Leaderboards.NetOfPlayerSql, [Guid.NewGuid(), channel, today.AddDays(-6), today]);
            var allTime = await QueryPlans.ExplainAsync(database, Leaderboards.Leaderboards.NetOfPlayerAllTimeSql, [Guid.NewGuid(), channel]);
            Assert.Contains("leaderboard_entries_pkey", window);
            Assert.Contains("leaderboard_totals_pkey", allTime);
            Assert.DoesNotContain("Seq Scan", window + allTime);
        }
    }

    /// <summary>
    /// A channel's board is built on its first read, under the lock every settled bet waits on: it must read that
    /// channel's rows, not scan every channel's totals or read every channel's rows of the week.
    /// </summary>
    [Fact]
    public async Task A_channels_board_is_built_from_that_channels_rows_alone()
    {
        await using var database = await MigratedDatabaseAsync("leaderboard-build");
        await ExecuteAsync(database, """
            INSERT INTO leaderboard_entries SELECT 'twitch:c' || (g % 200), current_date - (g % 7), gen_random_uuid(), 100 FROM generate_series(1, 200000) g;
            INSERT INTO leaderboard_totals SELECT user_id, channel, sum(net_minor) FROM leaderboard_entries GROUP BY user_id, channel;
            ANALYZE leaderboard_entries, leaderboard_totals;
            """);
        var today = DateOnly.FromDateTime(DateTime.UtcNow);

        var allTime = await QueryPlans.ExplainAsync(database, Leaderboards.Leaderboards.BuildAllTimeSql, ["twitch:c7", Leaderboards.Leaderboards.BoardSize + 1]);
        var week = await QueryPlans.ExplainAsync(database, Leaderboards.Leaderboards.BuildDaysSql, ["twitch:c7", Leaderboards.Leaderboards.BoardSize + 1, today.AddDays(-6), today]);
        var day = await QueryPlans.ExplainAsync(database, Leaderboards.Leaderboards.BuildDaysSql, ["twitch:c7", Leaderboards.Leaderboards.BoardSize + 1, today, today]);

        Assert.DoesNotContain("Seq Scan", allTime);
        Assert.Contains("leaderboard_totals_by_channel", allTime);
        foreach (var days in new[] { week, day })
        {
            Assert.DoesNotContain("Seq Scan", days);
            Assert.Contains("leaderboard_entries_by_channel", days);
            Assert.Contains("Index Cond: ((channel = 'twitch:c7'::text) AND (day >= ", days);
        }
    }

    /// <summary>
    /// The global all-time board is built at start-up and whenever Redis loses it, under the lock every settled bet
    /// waits on: it must read the top of the players' totals, not scan, group and sort every player's every channel.
    /// The plans are those of the statements the build runs (auto_explain sends each to the client as a notice).
    /// </summary>
    [Fact]
    public async Task The_global_all_time_board_is_built_from_the_top_of_the_players_totals()
    {
        var connectionString = await (await TestServers.PostgresAsync()).CreateDatabaseAsync("leaderboard-global-build");
        await PostgresSchema.MigrateAsync(connectionString, typeof(Leaderboards.Leaderboards).Assembly);
        // auto_explain sends each statement's plan as a notice, which Npgsql logs: the plans the build really ran.
        using var logs = new CollectedLogs();
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        builder.ConnectionStringBuilder.Options = "-c auto_explain.log_min_duration=0 -c auto_explain.log_level=notice";
        builder.UseLoggerFactory(LoggerFactory.Create(logging => logging.SetMinimumLevel(LogLevel.Trace).AddProvider(logs)));
        builder.UsePhysicalConnectionInitializer(
            connection => throw new NotSupportedException(),
            async connection =>
            {
                await using var load = new NpgsqlCommand("LOAD 'auto_explain'", connection);
                await load.ExecuteNonQueryAsync();
            });
        await using var database = builder.Build();
        await ExecuteAsync(database, """
            INSERT INTO leaderboard_totals SELECT gen_random_uuid(), 'twitch:c' || (g % 200), (g % 5000) - 1000 FROM generate_series(1, 200000) g;
            INSERT INTO leaderboard_totals SELECT user_id, 'twitch:other', 50 FROM leaderboard_totals WHERE net_minor % 3 = 0;
            INSERT INTO leaderboard_player_totals SELECT user_id, sum(net_minor) FROM leaderboard_totals GROUP BY user_id;
            ANALYZE leaderboard_totals, leaderboard_player_totals;
            """);
        await using var redisServer = await TestServers.StartAsync(() => new RedisServer());
        await using var redis = await ConnectionMultiplexer.ConnectAsync(redisServer.ConnectionString);
        var leaderboards = new Leaderboards.Leaderboards(redis, database, TimeProvider.System, NullLogger<Leaderboards.Leaderboards>.Instance);
        var before = logs.Records.Count;

        var board = (await leaderboards.TopAsync(LeaderboardScope.Global, LeaderboardPeriod.All, 3, reader: null, CancellationToken.None))!;

        var text = string.Join('\n', logs.Records.Skip(before).Select(r => r.Message).Where(m => m.Contains("Query Text")));
        Assert.Contains("Query Text", text); // the plans were caught
        Assert.DoesNotContain("Aggregate", text);
        Assert.DoesNotContain("on leaderboard_totals", text);
        Assert.Contains("on leaderboard_player_totals", text);
        Assert.Contains("Limit", text);
        // The best nets summed over every channel (ties may rank in another order: Redis orders them by member).
        await using var best = database.CreateCommand("""
            SELECT array_agg(net) FROM (SELECT sum(net_minor)::bigint AS net FROM leaderboard_totals GROUP BY user_id ORDER BY net DESC LIMIT 3) s
            """);
        Assert.Equal((long[])(await best.ExecuteScalarAsync())!, board.Entries.Select(e => e.NetMinor));
    }

    [Fact]
    public async Task Whether_a_channel_ever_had_pools_is_read_from_the_channel_indexes()
    {
        await using var database = await MigratedDatabaseAsync("leaderboard-channel-pools");
        await ExecuteAsync(database, """
            INSERT INTO pools (id, channel_provider, channel_id, created_by, title, betting_window, min_stake_minor, max_stake_minor,
                               rake_bps, state, exclusive, created_at)
            SELECT gen_random_uuid(), 'twitch', 'channel' || (g % 5000), gen_random_uuid(), 'Who wins?', interval '60 seconds', 100, 10000,
                   500, (ARRAY['open', 'locked', 'resolved', 'cancelled'])[1 + g % 4], false, now()
            FROM generate_series(1, 50000) g;
            ANALYZE pools;
            """);

        var plan = await QueryPlans.ExplainAsync(database, Leaderboards.Leaderboards.HasPoolsSql, ["twitch", "made-up-channel"]);

        Assert.Contains("pools_live_by_channel", plan);
        Assert.Contains("pools_finished_by_channel", plan);
        Assert.DoesNotContain("Seq Scan", plan);
    }

    private static async Task<NpgsqlDataSource> MigratedDatabaseAsync(string name)
    {
        var connectionString = await (await TestServers.PostgresAsync()).CreateDatabaseAsync(name);
        await PostgresSchema.MigrateAsync(connectionString, typeof(Leaderboards.Leaderboards).Assembly);
        return NpgsqlDataSource.Create(connectionString);
    }

    /// <summary>The plan of the scores of 1,000 of the channel's players, settled today.</summary>
    private static async Task<string> ScoresPlanAsync(NpgsqlDataSource database, string channel)
    {
        await using var pick = database.CreateCommand("SELECT array_agg(user_id) FROM (SELECT user_id FROM leaderboard_entries ORDER BY random() LIMIT 1000) s");
        var players = (Guid[])(await pick.ExecuteScalarAsync())!;
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        return await QueryPlans.ExplainAsync(database, Leaderboards.Leaderboards.ScoresSql, [players, today, today.AddDays(-3), today.AddDays(3), channel]);
    }

    private static async Task ExecuteAsync(NpgsqlDataSource database, string sql)
    {
        await using var command = database.CreateCommand(sql);
        command.CommandTimeout = 120;
        await command.ExecuteNonQueryAsync();
    }
}
