using System.Net.Http.Json;
using StreamBets.Contracts.IntegrationEvents;

namespace StreamBets.Pools.IntegrationTests;

/// <summary>
/// Settled bets whose net is zero change no sum, so they write nothing. A fixture of its own: its winner is on the
/// global boards, which <see cref="LeaderboardTests"/> compares whole.
/// </summary>
public sealed class LeaderboardZeroNetTests(PoolsApp app) : IClassFixture<PoolsApp>
{
    /// <summary>
    /// A cancelled pool settles as refunds only: net zero for every player, so nothing to write. The old code upserted a
    /// zero row per player into each table, a million of them for a big pool, all under the leaderboards lock.
    /// </summary>
    [Fact]
    public async Task Bets_that_net_zero_leave_no_rows_and_winners_beside_them_count_exactly()
    {
        using var admin = app.Admin();
        var cancelled = await admin.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));
        var played = await admin.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));
        var (refundedA, refundedB, evenedOut, winner) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        var now = app.Clock.GetUtcNow();
        await app.PublishAsync(
            new BetsSettled(cancelled.Id, [Line(refundedA, "refunded", stake: 1000, payout: 1000), Line(refundedB, "refunded", stake: 500, payout: 500)], now),
            new BetsSettled(played.Id,
                [Line(refundedB, "refunded", stake: 300, payout: 300), Line(evenedOut, "won", stake: 100, payout: 600), Line(evenedOut, "lost", stake: 500, payout: 0),
                 Line(winner, "won", stake: 200, payout: 700), Line(winner, "won", stake: 100, payout: 300)], now), // winner +700, evenedOut +500 - 500
            // A later batch of the first pool (its events are handled in order): once it counts, the refunds before it were.
            new BetsSettled(cancelled.Id, [Line(winner, "won", stake: 100, payout: 200)], now));

        Assert.True(await PoolsApp.EventuallyAsync(async () =>
            await app.ScalarAsync<long>("SELECT net_minor FROM leaderboard_player_totals WHERE user_id = $1", winner) == 800));
        Assert.Equal(800, await app.ScalarAsync<long>("SELECT sum(net_minor)::bigint FROM leaderboard_entries WHERE user_id = $1", winner));
        Assert.Equal(800, await app.ScalarAsync<long>("SELECT sum(net_minor)::bigint FROM leaderboard_totals WHERE user_id = $1", winner));
        foreach (var table in new[] { "leaderboard_entries", "leaderboard_totals", "leaderboard_player_totals" })
        {
            Assert.Equal(0, await app.ScalarAsync<long>($"SELECT count(*) FROM {table} WHERE user_id = ANY($1)", new[] { refundedA, refundedB, evenedOut }));
        }
        using var player = app.Player();
        Assert.Equal([(winner, 700L)], (await BoardAsync(player, $"channel:twitch:{played.Channel.ChannelId}", "day")).Entries.Select(e => (e.UserId, e.NetMinor)));
    }

    private static SettledBetLine Line(Guid userId, string result, long stake, long payout) => new(Guid.NewGuid(), userId, result, stake, payout);

    private static async Task<LeaderboardJson> BoardAsync(HttpClient client, string scope, string period) =>
        (await client.GetFromJsonAsync<LeaderboardJson>($"/api/pools/leaderboards?scope={scope}&period={period}"))!;
}
