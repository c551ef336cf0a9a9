using StackExchange.Redis;
using StreamBets.Pools.Data;
using StreamBets.Pools.Leaderboards;

namespace StreamBets.Pools.IntegrationTests;

/// <summary>
/// The global boards are rebuilt as soon as Redis may have lost them, not by their first reader: readers of a missing
/// board queue behind one rebuild and get 503s. Its own app: a reader elsewhere would rebuild the boards itself.
/// </summary>
public sealed class LeaderboardWarmupTests(PoolsApp app) : IClassFixture<PoolsApp>
{
    [Fact]
    public async Task After_redis_restarts_the_global_boards_are_rebuilt_without_a_read()
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(app.RedisConnectionString);
        var database = redis.GetDatabase();
        RedisKey[] Boards() => [.. Enum.GetValues<LeaderboardPeriod>().Select(period =>
            Leaderboards.Leaderboards.Key(LeaderboardScope.Global, LeaderboardWindow.For(period, LeaderboardWindow.DayOf(app.Clock.GetUtcNow()))))];
        Assert.True(await PoolsApp.EventuallyAsync(async () => await database.KeyExistsAsync(Boards()) == 3, TimeSpan.FromSeconds(30)), "Not built at start.");

        await app.RestartRedisAsync();
        // The watch has dropped the copies once it keeps the new server's run id.
        Assert.True(await PoolsApp.EventuallyAsync(async () =>
        {
            try
            {
                return (string?)await database.ScriptEvaluateAsync("return string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')")
                    == (string?)await database.StringGetAsync(RedisRestartWatch.CheckedRunKey);
            }
            catch (RedisException)
            {
                return false; // still coming back
            }
        }, TimeSpan.FromSeconds(30)), "The watch never checked the restarted Redis.");

        Assert.True(await PoolsApp.EventuallyAsync(async () => await database.KeyExistsAsync(Boards()) == 3, TimeSpan.FromSeconds(30)),
            "After the restart's drop the global boards waited for a reader to rebuild them.");
    }
}
