using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using StackExchange.Redis;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Pools.Management;
using StreamBets.Testing;
using static StreamBets.Pools.IntegrationTests.LeaderboardTests;

namespace StreamBets.Pools.IntegrationTests;

public sealed record LeaderboardEntryJson(int Rank, Guid UserId, long NetMinor, string? DisplayName);

public sealed record LeaderboardPlaceJson(int? Rank, long NetMinor);

public sealed record LeaderboardJson(string Scope, string Period, string PeriodKey, DateOnly? From, DateOnly? To, LeaderboardEntryJson[] Entries, LeaderboardPlaceJson? Me);

/// <summary>
/// The global boards read exactly: who is on them, in what order and for how much. Its own app: the tests in
/// <see cref="LeaderboardTests"/> put winners on the global boards, and xunit runs a class's tests in no set order.
/// </summary>
public sealed class GlobalLeaderboardTests(PoolsApp app) : IClassFixture<PoolsApp>
{
    [Fact]
    public async Task Net_winnings_rank_players_per_channel_and_globally_and_survive_a_redis_flush()
    {
        using var admin = app.Admin();
        var (channelX, channelY) = (Requests.NewChannel(), Requests.NewChannel());
        var poolX = await admin.CreatePoolAsync(Requests.Pool(channelX));
        var poolY = await admin.CreatePoolAsync(Requests.Pool(channelY));
        var (ana, bia, caio) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        var now = app.Clock.GetUtcNow();
        await app.PublishAsync(
            new BetsSettled(poolX.Id, [Line(ana, "won", stake: 1000, payout: 3000), Line(bia, "lost", stake: 500, payout: 0)], now), // +2000, -500 on X
            new BetsSettled(poolY.Id, [Line(bia, "won", stake: 100, payout: 5100)], now),                                             // +5000 on Y
            new BetsSettled(poolY.Id, [Line(caio, "refunded", stake: 1000, payout: 1000)], now));                                    // 0 on Y
        using var player = app.Player();

        // Boards rank the players who are up: Caio broke even, and Bia lost on X.
        (Guid, long)[] expected = [(bia, 4500L), (ana, 2000L)];
        var board = Array.Empty<(Guid, long)>();
        await PoolsApp.EventuallyAsync(async () =>
            (board = [.. (await BoardAsync(player, "global", "day")).Entries.Select(e => (e.UserId, e.NetMinor))]).SequenceEqual(expected));
        Assert.Equal(expected, board);
        foreach (var period in new[] { "day", "week", "all" })
        {
            var global = await BoardAsync(player, "global", period);
            Assert.Equal([(1, bia, 4500L), (2, ana, 2000L)], global.Entries.Select(e => (e.Rank, e.UserId, e.NetMinor)));
            var onX = await BoardAsync(player, $"channel:twitch:{channelX}", period);
            Assert.Equal([(ana, 2000L)], onX.Entries.Select(e => (e.UserId, e.NetMinor)));
        }

        await using (var redis = await ConnectionMultiplexer.ConnectAsync($"{app.RedisConnectionString},allowAdmin=true"))
        {
            await redis.GetServers().Single().FlushAllDatabasesAsync();
        }

        var rebuiltGlobal = await BoardAsync(player, "global", "week");
        var rebuiltY = await BoardAsync(player, $"channel:twitch:{channelY}", "all");
        Assert.Equal([(bia, 4500L), (ana, 2000L)], rebuiltGlobal.Entries.Select(e => (e.UserId, e.NetMinor)));
        Assert.Equal([(bia, 5000L)], rebuiltY.Entries.Select(e => (e.UserId, e.NetMinor)));
        Assert.Equal("week", rebuiltGlobal.Period);
        Assert.Equal(DayOfWeek.Monday, rebuiltGlobal.From!.Value.DayOfWeek);

        // Ana loses it all on X: no longer up, she leaves the boards; Caio wins and joins them.
        await app.PublishAsync(new BetsSettled(poolX.Id, [Line(ana, "lost", stake: 2000, payout: 0), Line(caio, "won", stake: 100, payout: 400)], now));
        expected = [(bia, 4500L), (caio, 300L)];
        await PoolsApp.EventuallyAsync(async () =>
            (board = [.. (await BoardAsync(player, "global", "all")).Entries.Select(e => (e.UserId, e.NetMinor))]).SequenceEqual(expected));
        Assert.Equal(expected, board);
        Assert.Equal([(caio, 300L)], (await BoardAsync(player, $"channel:twitch:{channelX}", "day")).Entries.Select(e => (e.UserId, e.NetMinor)));
    }
}

/// <summary>BetsSettled (from Settlement) ranks players by net winnings per channel and globally, and Redis can be lost.</summary>
public sealed class LeaderboardTests(PoolsApp app) : IClassFixture<PoolsApp>
{
    [Fact]
    public async Task All_time_counts_every_week_a_player_played_and_a_week_only_its_own()
    {
        using var admin = app.Admin();
        var channel = Requests.NewChannel();
        var pool = await admin.CreatePoolAsync(Requests.Pool(channel));
        var dora = Guid.NewGuid();
        var now = app.Clock.GetUtcNow();
        await app.PublishAsync(
            new BetsSettled(pool.Id, [Line(dora, "won", stake: 100, payout: 800)], now.AddDays(-10)), // +700, an earlier week
            new BetsSettled(pool.Id, [Line(dora, "won", stake: 100, payout: 200)], now));             // +100 today
        using var player = app.Player();
        var scope = $"channel:twitch:{channel}";

        long NetOf(LeaderboardJson board) => board.Entries.SingleOrDefault(e => e.UserId == dora)?.NetMinor ?? 0;
        Assert.True(await PoolsApp.EventuallyAsync(async () => NetOf(await BoardAsync(player, "global", "all")) == 800));
        Assert.Equal(800, NetOf(await BoardAsync(player, scope, "all")));
        Assert.Equal(100, NetOf(await BoardAsync(player, "global", "week")));
        Assert.Equal(100, NetOf(await BoardAsync(player, scope, "day")));

        await using (var redis = await ConnectionMultiplexer.ConnectAsync($"{app.RedisConnectionString},allowAdmin=true"))
        {
            await redis.GetServers().Single().FlushAllDatabasesAsync();
        }
        Assert.Equal(800, NetOf(await BoardAsync(player, scope, "all")));
        Assert.Equal(800, NetOf(await BoardAsync(player, "global", "all")));
        Assert.Equal(100, NetOf(await BoardAsync(player, scope, "week")));
    }

    [Fact]
    public async Task A_board_redis_evicted_alone_is_rebuilt_not_shown_empty_or_partial()
    {
        using var admin = app.Admin();
        var channel = Requests.NewChannel();
        var pool = await admin.CreatePoolAsync(Requests.Pool(channel));
        var (ema, fabio, gil) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        var now = app.Clock.GetUtcNow();
        await app.PublishAsync(new BetsSettled(pool.Id, [Line(ema, "won", stake: 100, payout: 900), Line(fabio, "won", stake: 100, payout: 400)], now));
        using var player = app.Player();
        var scope = $"channel:twitch:{channel}";
        (Guid, long)[] expected = [(ema, 800L), (fabio, 300L)];
        Assert.True(await PoolsApp.EventuallyAsync(async () => (await BoardAsync(player, scope, "week")).Entries.Select(e => (e.UserId, e.NetMinor)).SequenceEqual(expected)));

        // Under an eviction policy (Azure's default is volatile-lru) Redis drops keys one by one, so a board can go
        // while anything kept beside it stays.
        await using var redis = await ConnectionMultiplexer.ConnectAsync($"{app.RedisConnectionString},allowAdmin=true");
        var board = redis.GetServers().Single().Keys(pattern: $"pools:leaderboard:channel:twitch:{channel}:week:????-W??").Single();
        await redis.GetDatabase().KeyDeleteAsync(board);
        Assert.Equal(expected, (await BoardAsync(player, scope, "week")).Entries.Select(e => (e.UserId, e.NetMinor)));

        // Lost again, then a player settles before anyone reads: the board must not restart from that player alone.
        await redis.GetDatabase().KeyDeleteAsync(board);
        await app.PublishAsync(new BetsSettled(pool.Id, [Line(gil, "won", stake: 100, payout: 600)], now));
        expected = [(ema, 800L), (gil, 500L), (fabio, 300L)];
        var entries = Array.Empty<(Guid, long)>();
        await PoolsApp.EventuallyAsync(async () =>
            (entries = [.. (await BoardAsync(player, scope, "week")).Entries.Select(e => (e.UserId, e.NetMinor))]).SequenceEqual(expected));
        Assert.Equal(expected, entries);
    }

    [Fact]
    public async Task A_board_names_its_players_by_the_latest_display_name_users_sent()
    {
        using var admin = app.Admin();
        var channel = Requests.NewChannel();
        var pool = await admin.CreatePoolAsync(Requests.Pool(channel));
        var (hana, ivo, jon) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        var now = app.Clock.GetUtcNow();
        await app.PublishAsync(
            new UserRegistered(hana, "Hana", "player", now.AddDays(-1)),
            new UserProfileChanged(hana, "Hana Banana", now),
            new UserRegistered(ivo, "Ivo", "player", now.AddDays(-1)),
            new UserProfileChanged(ivo, "Ivo the Second", now),
            // A copy older than the name kept (sent again after a later change) does not bring the old name back.
            new UserProfileChanged(ivo, "Ivo the First", now.AddMinutes(-5)));
        // Jon's registration never reached this service: he is on the board all the same, without a name.
        await app.PublishAsync(new BetsSettled(pool.Id,
            [Line(hana, "won", stake: 100, payout: 900), Line(ivo, "won", stake: 100, payout: 600), Line(jon, "won", stake: 100, payout: 300)], now));
        using var player = app.Player();

        (Guid, long, string?)[] expected = [(hana, 800L, "Hana Banana"), (ivo, 500L, "Ivo the Second"), (jon, 200L, null)];
        var board = Array.Empty<(Guid, long, string?)>();
        await PoolsApp.EventuallyAsync(async () =>
            (board = [.. (await BoardAsync(player, $"channel:twitch:{channel}", "day")).Entries.Select(e => (e.UserId, e.NetMinor, e.DisplayName))])
            .SequenceEqual(expected));
        Assert.Equal(expected, board);
    }

    [Fact]
    public async Task A_reader_learns_their_own_place_on_a_board_they_are_below_or_off()
    {
        using var admin = app.Admin();
        var channel = Requests.NewChannel();
        var pool = await admin.CreatePoolAsync(Requests.Pool(channel));
        var (kai, lia, max, noa) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        var now = app.Clock.GetUtcNow();
        await app.PublishAsync(new BetsSettled(pool.Id,
            [Line(kai, "won", stake: 100, payout: 900), Line(lia, "won", stake: 100, payout: 600), Line(max, "won", stake: 100, payout: 300),
             Line(noa, "lost", stake: 700, payout: 0)], now));
        var scope = $"channel:twitch:{channel}";
        using var maxReads = app.ClientFor(max, "player");
        await PoolsApp.EventuallyAsync(async () => (await BoardAsync(maxReads, scope, "day")).Entries.Length == 3);

        // Third of three, with a board of two shown; the leader sees himself on it; Noa lost, so she is off it.
        var third = await BoardAsync(maxReads, scope, "day", limit: 2);
        using var kaiReads = app.ClientFor(kai, "player");
        using var noaReads = app.ClientFor(noa, "player");
        Assert.Equal([kai, lia], third.Entries.Select(e => e.UserId));
        Assert.Equal(new LeaderboardPlaceJson(3, 200), third.Me);
        Assert.Equal(new LeaderboardPlaceJson(1, 800), (await BoardAsync(kaiReads, scope, "all")).Me);
        Assert.Equal(new LeaderboardPlaceJson(null, -700), (await BoardAsync(noaReads, scope, "week")).Me);
        Assert.Equal(new LeaderboardPlaceJson(null, -700), (await BoardAsync(noaReads, "global", "all")).Me);
    }

    [Fact]
    public async Task A_board_of_a_channel_that_never_had_a_pool_is_empty_and_never_built()
    {
        using var player = app.Player();
        var channel = $"twitch:{Requests.NewChannel()}";

        foreach (var period in new[] { "day", "week", "all" })
        {
            var board = await BoardAsync(player, $"channel:{channel}", period);
            Assert.Empty(board.Entries);
            Assert.Equal(new LeaderboardPlaceJson(null, 0), board.Me);
        }

        // Made-up channels cost no rebuild and leave nothing behind in Redis.
        await using var redis = await ConnectionMultiplexer.ConnectAsync(app.RedisConnectionString);
        var server = redis.GetServer(redis.GetEndPoints()[0]);
        Assert.Empty(server.Keys(pattern: $"pools:leaderboard:channel:{channel}:*"));
    }

    [Fact]
    public async Task Settled_bets_reach_the_boards_after_redis_forgot_its_scripts()
    {
        var leaderboards = app.Services.GetRequiredService<Leaderboards.Leaderboards>();
        var channel = new Channel("twitch", Requests.NewChannel());
        await using var connection = new NpgsqlConnection(app.ConnectionString);
        await connection.OpenAsync();
        var player = Guid.NewGuid();
        using var reader = app.Player();
        async Task RecordAsync(long netMinor)
        {
            await using var transaction = await connection.BeginTransactionAsync();
            await leaderboards.RecordAsync(transaction, channel, [(player, netMinor)], app.Clock.GetUtcNow(), CancellationToken.None);
            await transaction.CommitAsync();
        }
        // A win puts the player on the boards (the script runs); the loss below takes them off, so the boards the other
        // tests here read end as they were.
        await BoardAsync(reader, "global", "day"); // built, so the script has a board to write to
        await RecordAsync(100);

        // A restart, a failover or SCRIPT FLUSH: a script sent by its hash alone is answered NOSCRIPT.
        await using (var redis = await ConnectionMultiplexer.ConnectAsync($"{app.RedisConnectionString},allowAdmin=true"))
        {
            await redis.GetServers().Single().ScriptFlushAsync();
        }

        await RecordAsync(-100).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.DoesNotContain(player, (await BoardAsync(reader, "global", "day")).Entries.Select(e => e.UserId));
    }

    [Fact]
    public async Task Two_transactions_settling_bets_never_deadlock_whatever_players_their_events_share()
    {
        // A group commit applies several BetsSettled events in one transaction. Players picked so that score locks
        // sorted per event (256 buckets by hash, as before) were taken across events in opposite orders: the first
        // transaction 10 and 200, then 50; the second 50 and 100, then 10 (PostgreSQL then aborted one, 40P01).
        var (ana, bia, caio, dora) = (PlayerInBucket(10), PlayerInBucket(200), PlayerInBucket(50), PlayerInBucket(100));
        var leaderboards = app.Services.GetRequiredService<Leaderboards.Leaderboards>();
        var channel = new Channel("twitch", Requests.NewChannel());
        var now = app.Clock.GetUtcNow();
        await using var first = new NpgsqlConnection(app.ConnectionString);
        await using var second = new NpgsqlConnection(app.ConnectionString);
        await first.OpenAsync();
        await second.OpenAsync();
        await using var firstTransaction = await first.BeginTransactionAsync();
        await using var secondTransaction = await second.BeginTransactionAsync();
        Task SettleAsync(NpgsqlTransaction transaction, params (Guid, long)[] nets) => leaderboards.RecordAsync(transaction, channel, nets, now, CancellationToken.None);

        // Losses, so the boards the other tests here read do not change.
        await SettleAsync(firstTransaction, (ana, -100), (bia, -200));
        var secondDone = Task.Run(async () =>
        {
            await SettleAsync(secondTransaction, (caio, -300), (dora, -400));
            await SettleAsync(secondTransaction, (ana, -500));
            await secondTransaction.CommitAsync();
        });
        await app.BlockedOrDoneAsync(secondDone, $"pid = {second.ProcessID}");
        var firstDone = Task.Run(async () =>
        {
            await SettleAsync(firstTransaction, (caio, -600));
            await firstTransaction.CommitAsync();
        });

        await Task.WhenAll(firstDone, secondDone).WaitAsync(TimeSpan.FromSeconds(30));
        var totals = new Dictionary<Guid, long>();
        await using (var read = new NpgsqlCommand("SELECT user_id, net_minor FROM leaderboard_totals WHERE channel = $1", first) { Parameters = { new() { Value = channel.ToString() } } })
        await using (var reader = await read.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                totals[reader.GetGuid(0)] = reader.GetInt64(1);
            }
        }
        Assert.Equal(new Dictionary<Guid, long> { [ana] = -600, [bia] = -200, [caio] = -900, [dora] = -400 }, totals);
    }

    [Fact]
    public async Task A_transaction_settling_many_events_of_many_players_holds_one_score_lock()
    {
        // A lock per player (or per bucket of them) in a transaction of many 1,000-bet events once filled PostgreSQL's
        // shared lock table: "out of shared memory" for every database on the server. Losses: no board here changes.
        var leaderboards = app.Services.GetRequiredService<Leaderboards.Leaderboards>();
        var channel = new Channel("twitch", Requests.NewChannel());
        await using var connection = new NpgsqlConnection(app.ConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();

        for (var i = 0; i < 5; i++)
        {
            await leaderboards.RecordAsync(transaction, channel, Enumerable.Range(0, 1000).Select(_ => (Guid.NewGuid(), -100L)), app.Clock.GetUtcNow(), CancellationToken.None);
        }

        await using var locks = new NpgsqlCommand("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()", connection, transaction);
        Assert.Equal(1L, await locks.ExecuteScalarAsync());
    }

    private static Guid PlayerInBucket(int bucket)
    {
        while (true)
        {
            var player = Guid.NewGuid();
            if ((player.GetHashCode() & 255) == bucket)
            {
                return player;
            }
        }
    }

    [Theory]
    [InlineData("scope=everyone", "scope")]
    [InlineData("scope=channel:myspace:1", "scope")]
    [InlineData("period=year", "period")]
    [InlineData("period=1", "period")]
    [InlineData("period=day,week", "period")]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=101", "limit")]
    [InlineData("limit=ten", "limit")]
    [InlineData("limit=99999999999", "limit")]
    [InlineData("limit=1.5", "limit")]
    public async Task A_bad_scope_period_or_limit_is_a_validation_problem(string query, string field)
    {
        using var player = app.Player();

        await player.AssertInvalidAsync($"/api/pools/leaderboards?{query}", field);
    }

    internal static SettledBetLine Line(Guid userId, string result, long stake, long payout) => new(Guid.NewGuid(), userId, result, stake, payout);

    internal static async Task<LeaderboardJson> BoardAsync(HttpClient client, string scope, string period, int limit = 10) =>
        (await client.GetFromJsonAsync<LeaderboardJson>($"/api/pools/leaderboards?scope={scope}&period={period}&limit={limit}"))!;
}
