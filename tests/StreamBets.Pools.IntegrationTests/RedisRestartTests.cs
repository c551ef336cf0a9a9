using System.Net.Http.Json;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Pools.Data;
using StreamBets.Pools.Leaderboards;
using StreamBets.Pools.Stakes;
using StreamBets.Testing;

namespace StreamBets.Pools.IntegrationTests;

/// <summary>
/// Redis may come back from a restart with an older copy than it had (a snapshot, an append-only file fsynced every
/// second, a lagging replica promoted): its boards still read as built and its stakes hashes as whole. The service
/// must notice the new server and rebuild both from PostgreSQL, not show the old sums and totals until something
/// happens to rewrite them.
/// </summary>
public sealed class RedisRestartTests(PoolsApp app) : IClassFixture<PoolsApp>
{
    [Fact]
    public async Task After_redis_restarts_from_an_older_copy_boards_and_pool_totals_are_rebuilt_from_postgres()
    {
        using var admin = app.Admin();
        var pool = await admin.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));
        var ana = Guid.NewGuid();
        var now = app.Clock.GetUtcNow();
        await app.PublishAsync(
            new BetsPlaced(pool.Id, [new(Guid.NewGuid(), ana, pool.Outcomes[0].Id, 1000, now)]),
            new BetsSettled(pool.Id, [new(Guid.NewGuid(), ana, "won", 1000, 3000)], now));
        using var player = app.Player();
        Assert.True(await PoolsApp.EventuallyAsync(async () =>
            await AnasNetAsync(player, ana) == 2000 && (await player.GetPoolAsync(pool.Id)).TotalStakedMinor == 1000, TimeSpan.FromSeconds(30)));

        // What an older copy holds: Ana's sum and the pool's total from before the last bets were counted.
        await using (var redis = await ConnectionMultiplexer.ConnectAsync(app.RedisConnectionString))
        {
            var board = Leaderboards.Leaderboards.Key(LeaderboardScope.Global, LeaderboardWindow.For(LeaderboardPeriod.All, LeaderboardWindow.DayOf(now)));
            await redis.GetDatabase().SortedSetAddAsync(board, ana.ToString(), 500);
            await redis.GetDatabase().HashSetAsync(PoolStakes.Key(pool.Id), [new($"s:{pool.Outcomes[0].Id}", 400), new($"n:{pool.Outcomes[0].Id}", 1)]);
        }
        Assert.Equal(500, await AnasNetAsync(player, ana));
        Assert.Equal(400, (await player.GetPoolAsync(pool.Id)).TotalStakedMinor);

        await app.RestartRedisAsync();

        long net = 0, total = 0;
        Assert.True(await PoolsApp.EventuallyAsync(async () =>
        {
            (net, total) = (await AnasNetAsync(player, ana), (await player.GetPoolAsync(pool.Id)).TotalStakedMinor);
            return (net, total) == (2000, 1000);
        }, TimeSpan.FromSeconds(30)), $"After the restart the board showed {net} and the pool {total}: Redis's old copy.");
    }

    /// <summary>
    /// A replica started after the restart never saw it: the run id kept in Redis, not in the process, tells it. Of
    /// several replicas the first to check drops the copies; the next finds the run id current and keeps the rebuilt ones.
    /// </summary>
    [Fact]
    public async Task A_replica_that_starts_after_a_restart_drops_the_copies_and_the_next_replica_keeps_them()
    {
        await using var server = await TestServers.StartAsync(() => new RedisServer());
        await using var redis = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString);
        var database = redis.GetDatabase();
        var (board, stakes, staging) = ((RedisKey)"pools:leaderboard:global:all:all", PoolStakes.Key(Guid.NewGuid()), (RedisKey)"pools:leaderboard:global:all:all:rebuild:1");
        await database.StringSetAsync(RedisRestartWatch.CheckedRunKey, "an-older-servers-run-id");
        await database.SortedSetAddAsync(board, [new("", 0), new(Guid.NewGuid().ToString(), 500)]);
        await database.HashSetAsync(stakes, "s:x", 400);
        await database.SortedSetAddAsync(staging, "", 0);
        RedisRestartWatch Replica() => new(redis, TimeProvider.System, NullLogger<RedisRestartWatch>.Instance);

        Assert.True(await Replica().CheckAsync());
        Assert.False(await database.KeyExistsAsync(board));
        Assert.False(await database.KeyExistsAsync(stakes));
        Assert.True(await database.KeyExistsAsync(staging)); // a rebuild under way: its rename checks it is whole
        await database.SortedSetAddAsync(board, "", 0); // rebuilt meanwhile
        Assert.False(await Replica().CheckAsync());
        Assert.True(await database.KeyExistsAsync(board));
    }

    /// <summary>At start the warm-up waits for the first check: built before its drop, the global boards were deleted again.</summary>
    [Fact]
    public async Task At_start_the_global_boards_warm_up_is_asked_for_only_after_the_first_checks_drop()
    {
        await using var server = await TestServers.StartAsync(() => new RedisServer());
        await using var redis = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString);
        var database = redis.GetDatabase();
        RedisKey board = "pools:leaderboard:global:all:all";
        await database.StringSetAsync(RedisRestartWatch.CheckedRunKey, "an-older-servers-run-id");
        await database.SortedSetAddAsync(board, "", 0);
        var watch = new RedisRestartWatch(redis, TimeProvider.System, NullLogger<RedisRestartWatch>.Instance);

        await watch.StartAsync(default);
        try
        {
            await watch.CopiesToWarm.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.False(await database.KeyExistsAsync(board), "The warm-up was asked for before the first check dropped the old boards.");
        }
        finally
        {
            await watch.StopAsync(default);
        }
    }

    /// <summary>Ana's net on the global all-time board, 0 while the read fails (Redis still coming back).</summary>
    private static async Task<long> AnasNetAsync(HttpClient player, Guid ana)
    {
        var response = await player.GetAsync("/api/pools/leaderboards?scope=global&period=all&limit=100");
        if (!response.IsSuccessStatusCode)
        {
            return 0;
        }
        var board = (await response.Content.ReadFromJsonAsync<LeaderboardJson>())!;
        return board.Entries.SingleOrDefault(e => e.UserId == ana)?.NetMinor ?? 0;
    }
}
