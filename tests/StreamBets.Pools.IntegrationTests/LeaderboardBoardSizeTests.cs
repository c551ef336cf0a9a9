using System.Net.Http.Json;
using StackExchange.Redis;
using StreamBets.Contracts.IntegrationEvents;

namespace StreamBets.Pools.IntegrationTests;

/// <summary>
/// Redis keeps the top <see cref="Leaderboards.Leaderboards.BoardSize"/> players of a board, not every winner, and the
/// board must stay exact as players join, fall off and the leaders lose. Its own app: it fills the global boards.
/// </summary>
public sealed class LeaderboardBoardSizeTests(PoolsApp app) : IClassFixture<PoolsApp>
{
    private const string Board = "pools:leaderboard:global:all:all";

    [Fact]
    public async Task A_board_keeps_its_top_players_and_stays_exact_when_the_leaders_fall()
    {
        using var admin = app.Admin();
        var pool = await admin.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));
        using var player = app.Player();
        await using var redis = await ConnectionMultiplexer.ConnectAsync($"{app.RedisConnectionString},allowAdmin=true");
        var boardSize = Leaderboards.Leaderboards.BoardSize;
        // Player k (1 to boardSize + 1,000) wins 2k: the board keeps the best boardSize, and the best left off won 2,000.
        var players = Enumerable.Range(0, boardSize + 1_001).Select(_ => Guid.NewGuid()).ToArray();
        var top = players[^1];
        await SettleAsync(pool.Id, Enumerable.Range(1, players.Length - 1).Select(k => Line(players[k], stake: 100, payout: 100 + 2 * k)));

        Assert.True(await PoolsApp.EventuallyAsync(async () => (await TopAsync(player, 1)).SequenceEqual([(top, 2L * (players.Length - 1))])));
        await AssertBoardAsync(redis, size: boardSize, cutoff: 2_000);

        // Rebuilt from PostgreSQL after Redis lost it: the same top, the same cut-off.
        await redis.GetServers().Single().FlushAllDatabasesAsync();
        Assert.Equal([(top, 2L * (players.Length - 1)), (players[^2], 2L * (players.Length - 2))], await TopAsync(player, 2));
        await AssertBoardAsync(redis, size: boardSize, cutoff: 2_000);

        // The leader falls to 1,995, below the cut-off: off the board, though still up.
        await SettleAsync(pool.Id, [Line(top, stake: 2L * (players.Length - 1) - 1_995, payout: 0)]);
        Assert.True(await PoolsApp.EventuallyAsync(async () => (await TopAsync(player, 1))[0].UserId == players[^2]));
        Assert.Null(await redis.GetDatabase().SortedSetScoreAsync(Board, top.ToString()));

        // Everyone else on the board loses all: the players left off, and the fallen leader, must come back.
        await SettleAsync(pool.Id, Enumerable.Range(1_001, players.Length - 1_002).Select(k => Line(players[k], stake: 2L * k, payout: 0)));
        (Guid, long)[] expected = [(players[1_000], 2_000), (players[999], 1_998), (players[998], 1_996), (top, 1_995), (players[997], 1_994)];
        var board = Array.Empty<(Guid, long)>();
        await PoolsApp.EventuallyAsync(async () => (board = await TopAsync(player, 5)).SequenceEqual(expected));
        Assert.Equal(expected, board);
        await AssertBoardAsync(redis, size: 1_001, cutoff: 0);
    }

    private async Task SettleAsync(Guid poolId, IEnumerable<SettledBetLine> lines) =>
        await app.PublishAsync([.. lines.Chunk(BetsSettled.MaxBets).Select(chunk => new BetsSettled(poolId, chunk, app.Clock.GetUtcNow()))]);

    /// <summary>The board holds <paramref name="size"/> players and its cut-off member (''), which scores the cut-off.</summary>
    private static async Task AssertBoardAsync(ConnectionMultiplexer redis, long size, double cutoff)
    {
        Assert.Equal(size + 1, await redis.GetDatabase().SortedSetLengthAsync(Board));
        Assert.Equal(cutoff, await redis.GetDatabase().SortedSetScoreAsync(Board, ""));
    }

    private static SettledBetLine Line(Guid userId, long stake, long payout) =>
        new(Guid.NewGuid(), userId, payout > stake ? "won" : "lost", stake, payout);

    private static async Task<(Guid UserId, long NetMinor)[]> TopAsync(HttpClient client, int limit) =>
        [.. (await client.GetFromJsonAsync<LeaderboardJson>($"/api/pools/leaderboards?scope=global&period=all&limit={limit}"))!.Entries.Select(e => (e.UserId, e.NetMinor))];
}
