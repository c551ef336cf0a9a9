using System.Net.Http.Json;
using StackExchange.Redis;
using StreamBets.Contracts.IntegrationEvents;

namespace StreamBets.Pools.IntegrationTests;

/// <summary>
/// The global all-time board is built from each player's total over every channel, kept beside the per-channel totals.
/// Its own app: it puts winners on the global boards, which <see cref="GlobalLeaderboardTests"/> reads exactly.
/// </summary>
public sealed class LeaderboardGlobalTotalsTests(PoolsApp app) : IClassFixture<PoolsApp>
{
    [Fact]
    public async Task The_global_all_time_board_sums_each_players_channels_and_so_does_a_rebuild()
    {
        using var admin = app.Admin();
        var (x, y, z) = (Requests.NewChannel(), Requests.NewChannel(), Requests.NewChannel());
        var (poolX, poolY, poolZ) = (await admin.CreatePoolAsync(Requests.Pool(x)), await admin.CreatePoolAsync(Requests.Pool(y)), await admin.CreatePoolAsync(Requests.Pool(z)));
        var (eli, fay) = (Guid.NewGuid(), Guid.NewGuid());
        var now = app.Clock.GetUtcNow();
        await app.PublishAsync(
            new BetsSettled(poolX.Id, [Line(eli, "won", stake: 1000, payout: 3001), Line(fay, "won", stake: 100, payout: 700)], now), // +2001, +600
            new BetsSettled(poolY.Id, [Line(eli, "lost", stake: 500, payout: 0)], now.AddDays(-20)),                                  // -500
            new BetsSettled(poolZ.Id, [Line(eli, "won", stake: 100, payout: 400), Line(fay, "lost", stake: 900, payout: 0)], now),    // +300, -900
            new BetsSettled(poolZ.Id, [Line(fay, "refunded", stake: 100, payout: 100)], now));                                       // 0
        using var player = app.Player();
        long NetOf(LeaderboardJson board, Guid who) => board.Entries.SingleOrDefault(e => e.UserId == who)?.NetMinor ?? 0;

        Assert.True(await PoolsApp.EventuallyAsync(async () => NetOf(await BoardAsync(player, "global", "all", limit: 100), eli) == 1801));
        await using (var redis = await ConnectionMultiplexer.ConnectAsync($"{app.RedisConnectionString},allowAdmin=true"))
        {
            await redis.GetServers().Single().FlushAllDatabasesAsync();
        }
        var rebuilt = await BoardAsync(player, "global", "all", limit: 100);
        Assert.Equal(1801, NetOf(rebuilt, eli));
        Assert.DoesNotContain(fay, rebuilt.Entries.Select(e => e.UserId)); // -300 over her channels: not up
        using var fayReads = app.ClientFor(fay, "player");
        Assert.Equal(new LeaderboardPlaceJson(null, -300), (await BoardAsync(fayReads, "global", "all")).Me);

        // Every player's global total is the sum of their channels'.
        Assert.Equal(0L, await app.ScalarAsync<long>("""
            SELECT count(*) FROM (SELECT user_id, sum(net_minor) AS net_minor FROM leaderboard_totals GROUP BY user_id) c
            FULL JOIN leaderboard_player_totals p USING (user_id) WHERE c.net_minor IS DISTINCT FROM p.net_minor
            """));
    }

    private static SettledBetLine Line(Guid userId, string result, long stake, long payout) => new(Guid.NewGuid(), userId, result, stake, payout);

    private static async Task<LeaderboardJson> BoardAsync(HttpClient client, string scope, string period, int limit = 10) =>
        (await client.GetFromJsonAsync<LeaderboardJson>($"/api/pools/leaderboards?scope={scope}&period={period}&limit={limit}"))!;
}
