using System.Net.Http.Json;
using StackExchange.Redis;
using StreamBets.Contracts.IntegrationEvents;

namespace StreamBets.Pools.IntegrationTests;

/// <summary>
/// Daily leaderboard rows are read only for the current day and ISO week, so an hourly cleanup deletes those older than
/// five weeks; all-time boards read the totals and must not change. Its own app: it moves the clock by hours.
/// </summary>
public sealed class LeaderboardEntriesCleanupTests(PoolsApp app) : IClassFixture<PoolsApp>
{
    [Fact]
    public async Task Rows_sixty_days_old_are_deleted_within_the_hour_and_the_boards_still_read_exactly()
    {
        using var admin = app.Admin();
        var channel = Requests.NewChannel();
        var pool = await admin.CreatePoolAsync(Requests.Pool(channel));
        var (gus, ines) = (Guid.NewGuid(), Guid.NewGuid());
        // The current bets settle an hour ahead: the boards are read after the clock has moved on by that hour.
        var now = app.Clock.GetUtcNow().AddHours(1);
        await app.PublishAsync(
            new BetsSettled(pool.Id, [Line(gus, stake: 100, payout: 800)], now.AddDays(-60)), // +700, long ago
            new BetsSettled(pool.Id, [Line(gus, stake: 100, payout: 200), Line(ines, stake: 100, payout: 400)], now)); // +100, +300
        // More than one batch of old rows, of players who never settled since.
        await app.ExecuteAsync($"""
            INSERT INTO leaderboard_entries SELECT 'twitch:old', DATE '{now.AddDays(-60):yyyy-MM-dd}' - (g % 3), gen_random_uuid(), 100
            FROM generate_series(1, 12000) g
            """);
        var today = now.UtcDateTime.Date;
        Assert.True(await PoolsApp.EventuallyAsync(async () =>
            await app.ScalarAsync<long>("SELECT count(*) FROM leaderboard_entries WHERE day >= $1", DateOnly.FromDateTime(today)) == 2));

        app.Clock.Advance(TimeSpan.FromHours(1));

        Assert.True(await PoolsApp.EventuallyAsync(async () =>
            await app.ScalarAsync<long>("SELECT count(*) FROM leaderboard_entries WHERE day < $1", DateOnly.FromDateTime(today.AddDays(-35))) == 0),
            "Rows older than five weeks are still there.");
        Assert.Equal(2L, await app.ScalarAsync<long>("SELECT count(*) FROM leaderboard_entries WHERE day >= $1", DateOnly.FromDateTime(today)));

        // Rebuilt from PostgreSQL after the cleanup: all time still counts the deleted day, the week only its own.
        await using (var redis = await ConnectionMultiplexer.ConnectAsync($"{app.RedisConnectionString},allowAdmin=true"))
        {
            await redis.GetServers().Single().FlushAllDatabasesAsync();
        }
        using var player = app.Player();
        Assert.Equal([(gus, 800L), (ines, 300L)], await BoardAsync(player, $"channel:twitch:{channel}", "all"));
        Assert.Equal([(gus, 800L)], (await BoardAsync(player, "global", "all")).Where(e => e.UserId == gus));
        Assert.Equal([(ines, 300L), (gus, 100L)], await BoardAsync(player, $"channel:twitch:{channel}", "week"));
    }

    private static SettledBetLine Line(Guid userId, long stake, long payout) =>
        new(Guid.NewGuid(), userId, payout > stake ? "won" : "lost", stake, payout);

    private static async Task<(Guid UserId, long NetMinor)[]> BoardAsync(HttpClient client, string scope, string period) =>
        [.. (await client.GetFromJsonAsync<LeaderboardJson>($"/api/pools/leaderboards?scope={scope}&period={period}&limit=100"))!.Entries.Select(e => (e.UserId, e.NetMinor))];
}
