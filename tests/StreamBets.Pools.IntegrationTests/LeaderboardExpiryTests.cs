using System.Net.Http.Json;
using StackExchange.Redis;
using StreamBets.Contracts.IntegrationEvents;

namespace StreamBets.Pools.IntegrationTests;

/// <summary>
/// A channel's all-time board leaves Redis 30 days after it was last built, written or read, so dead channels' boards do
/// not stay for ever; the global all-time board is kept. Its own app: it asserts the global board's expiry.
/// </summary>
public sealed class LeaderboardExpiryTests(PoolsApp app) : IClassFixture<PoolsApp>
{
    private static readonly RedisKey GlobalAllTime = "pools:leaderboard:global:all:all";

    [Fact]
    public async Task A_channel_all_time_board_expires_30_days_after_its_last_use_and_is_rebuilt_exactly_while_the_global_one_never_expires()
    {
        using var admin = app.Admin();
        var channel = Requests.NewChannel();
        var pool = await admin.CreatePoolAsync(Requests.Pool(channel));
        var (ema, fabio, gil) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        var now = app.Clock.GetUtcNow();
        await app.PublishAsync(new BetsSettled(pool.Id, [Line(ema, stake: 100, payout: 900), Line(fabio, stake: 100, payout: 400)], now));
        using var player = app.Player();
        var scope = $"channel:twitch:{channel}";
        Assert.True(await PoolsApp.EventuallyAsync(async () => (await TopAsync(player, scope)).SequenceEqual([(ema, 800L), (fabio, 300L)])));

        await using var redis = await ConnectionMultiplexer.ConnectAsync(app.RedisConnectionString);
        var db = redis.GetDatabase();
        RedisKey board = $"pools:leaderboard:channel:twitch:{channel}:all:all";
        await AssertKeptAtMost30DaysAsync(db, board, "built");

        // A read renews it (without waiting for the EXPIRE, so eventually).
        await db.KeyExpireAsync(board, TimeSpan.FromMinutes(1));
        await TopAsync(player, scope);
        Assert.True(await PoolsApp.EventuallyAsync(async () => await db.KeyTimeToLiveAsync(board) > TimeSpan.FromDays(29)),
            $"A read left the board expiring in {await db.KeyTimeToLiveAsync(board)}.");

        // Settled bets renew it, read or not.
        await db.KeyExpireAsync(board, TimeSpan.FromMinutes(1));
        await app.PublishAsync(new BetsSettled(pool.Id, [Line(gil, stake: 100, payout: 600)], now));
        Assert.True(await PoolsApp.EventuallyAsync(async () => await db.SortedSetScoreAsync(board, gil.ToString()) == 500));
        Assert.True(await db.KeyTimeToLiveAsync(board) > TimeSpan.FromDays(29), $"A settlement left the board expiring in {await db.KeyTimeToLiveAsync(board)}.");
        await AssertKeptAtMost30DaysAsync(db, board, "written by a settlement");

        // Expired: the next read rebuilds it exactly, cut-off member ('') and all, with a new expiry.
        var before = await db.SortedSetRangeByRankWithScoresAsync(board);
        await db.KeyDeleteAsync(board);
        Assert.Equal([(ema, 800L), (gil, 500L), (fabio, 300L)], await TopAsync(player, scope));
        Assert.Equal(before, await db.SortedSetRangeByRankWithScoresAsync(board));
        Assert.Equal(0, await db.SortedSetScoreAsync(board, ""));
        await AssertKeptAtMost30DaysAsync(db, board, "rebuilt");

        // The global all-time board, built at start-up and written by the same settlements, has no expiry (TTL -1).
        Assert.Equal(-1L, (long)await db.ExecuteAsync("TTL", GlobalAllTime));
    }

    private static async Task AssertKeptAtMost30DaysAsync(IDatabase db, RedisKey board, string after)
    {
        var left = await db.KeyTimeToLiveAsync(board);
        Assert.True(left > TimeSpan.Zero && left <= TimeSpan.FromDays(30),
            $"The channel's all-time board {after} expires in {left?.ToString() ?? "never"}.");
    }

    private static SettledBetLine Line(Guid userId, long stake, long payout) =>
        new(Guid.NewGuid(), userId, payout > stake ? "won" : "lost", stake, payout);

    private static async Task<(Guid UserId, long NetMinor)[]> TopAsync(HttpClient client, string scope) =>
        [.. (await client.GetFromJsonAsync<LeaderboardJson>($"/api/pools/leaderboards?scope={scope}&period=all&limit=10"))!.Entries.Select(e => (e.UserId, e.NetMinor))];
}
