using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Hosting;
using Npgsql;
using StackExchange.Redis;
using StreamBets.Pools.Leaderboards;
using StreamBets.Testing;

namespace StreamBets.Pools.IntegrationTests;

/// <summary>
/// A board is rebuilt under a staging key and renamed over the board. A rebuild cut short must leave nothing that lives
/// for ever: no staging key without an expiry, and no day or week board without its end.
/// </summary>
public sealed class LeaderboardRebuildTests
{
    /// <summary>
    /// Redis refuses the board's expiry (an ACL denies EXPIREAT here), as if the rebuild died between the rename and
    /// setting the board's end: the old code left a day board renamed in place with no expiry, and its staging key too.
    /// </summary>
    [Fact]
    public async Task A_rebuild_cut_short_leaves_no_board_or_staging_key_without_an_expiry()
    {
        await using var redisServer = await TestServers.StartAsync(() => new RedisServer());
        await using var admin = await ConnectionMultiplexer.ConnectAsync(redisServer.ConnectionString);
        await admin.GetDatabase().ExecuteAsync("ACL", "SETUSER", "rebuilder", "on", ">secret", "~*", "&*", "+@all", "-expireat", "-pexpireat");
        await using var rebuilder = await ConnectionMultiplexer.ConnectAsync($"{redisServer.ConnectionString},user=rebuilder,password=secret");
        await using var database = await DatabaseWithWinnersAsync("leaderboard-rebuild-cut");
        var leaderboards = new Leaderboards.Leaderboards(rebuilder, database, TimeProvider.System, NullLogger<Leaderboards.Leaderboards>.Instance);

        await Assert.ThrowsAnyAsync<Exception>(() => leaderboards.TopAsync(LeaderboardScope.Global, LeaderboardPeriod.Day, 10, reader: null, CancellationToken.None));

        var redis = admin.GetDatabase();
        var board = Leaderboards.Leaderboards.Key(LeaderboardScope.Global, LeaderboardWindow.For(LeaderboardPeriod.Day, LeaderboardWindow.DayOf(DateTimeOffset.UtcNow)));
        Assert.True(!await redis.KeyExistsAsync(board) || await redis.KeyTimeToLiveAsync(board) is not null, "The day board was left without an expiry.");
        var left = admin.GetServers().Single().Keys(pattern: "pools:leaderboard:*").ToArray();
        foreach (var key in left)
        {
            Assert.True(await redis.KeyTimeToLiveAsync(key) is not null, $"{key} was left without an expiry.");
        }
    }

    /// <summary>RENAME keeps the staging key's expiry: the all-time board must lose it, and a day board get its own end.</summary>
    [Fact]
    public async Task A_rebuilt_all_time_board_never_expires_and_a_day_board_expires_after_its_day()
    {
        await using var redisServer = await TestServers.StartAsync(() => new RedisServer());
        await using var redis = await ConnectionMultiplexer.ConnectAsync(redisServer.ConnectionString);
        await using var database = await DatabaseWithWinnersAsync("leaderboard-rebuild-expiry");
        var leaderboards = new Leaderboards.Leaderboards(redis, database, TimeProvider.System, NullLogger<Leaderboards.Leaderboards>.Instance);

        var allTime = (await leaderboards.TopAsync(LeaderboardScope.Global, LeaderboardPeriod.All, 10, reader: null, CancellationToken.None))!;
        var day = (await leaderboards.TopAsync(LeaderboardScope.Global, LeaderboardPeriod.Day, 10, reader: null, CancellationToken.None))!;

        Assert.Equal(3, allTime.Entries.Count);
        Assert.Equal(3, day.Entries.Count);
        Assert.Null(await redis.GetDatabase().KeyTimeToLiveAsync(Leaderboards.Leaderboards.Key(LeaderboardScope.Global, allTime.Window)));
        var dayLeft = await redis.GetDatabase().KeyTimeToLiveAsync(Leaderboards.Leaderboards.Key(LeaderboardScope.Global, day.Window));
        Assert.NotNull(dayLeft);
        Assert.True(dayLeft > TimeSpan.FromMinutes(10), $"The day board expires in {dayLeft}, the staging key's expiry, not after its day.");
        Assert.Empty(redis.GetServers().Single().Keys(pattern: "*:rebuild:*"));
    }

    private static async Task<NpgsqlDataSource> DatabaseWithWinnersAsync(string name)
    {
        var connectionString = await (await TestServers.PostgresAsync()).CreateDatabaseAsync(name);
        await PostgresSchema.MigrateAsync(connectionString, typeof(Leaderboards.Leaderboards).Assembly);
        var database = NpgsqlDataSource.Create(connectionString);
        await using var fill = database.CreateCommand("""
            INSERT INTO leaderboard_entries SELECT 'twitch:c1', (now() AT TIME ZONE 'utc')::date, gen_random_uuid(), 100 * g FROM generate_series(1, 3) g;
            INSERT INTO leaderboard_totals SELECT user_id, channel, net_minor FROM leaderboard_entries;
            INSERT INTO leaderboard_player_totals SELECT user_id, net_minor FROM leaderboard_totals;
            """);
        await fill.ExecuteNonQueryAsync();
        return database;
    }
}
