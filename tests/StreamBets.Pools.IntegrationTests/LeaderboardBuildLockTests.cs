using System.Net;
using Npgsql;
using StackExchange.Redis;
using StreamBets.Pools.Data;

namespace StreamBets.Pools.IntegrationTests;

/// <summary>
/// A board Redis lost is rebuilt under the leaderboards lock, which settled bets' group commits hold for seconds. Its
/// readers must not queue on that lock holding the service's connections (pool reads share the pool), yet a board must
/// be built while settled bets never leave the lock free, as on two replicas working through a settlement backlog.
/// </summary>
public sealed class LeaderboardBuildLockTests(PoolsApp app) : IClassFixture<PoolsApp>
{
    private static readonly TimeSpan AFewSeconds = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Readers_of_a_missing_board_do_not_hold_connections_while_settled_bets_hold_its_lock()
    {
        using var admin = app.Admin();
        var pool = await admin.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));
        using var player = app.Player();
        Assert.Equal(HttpStatusCode.OK, (await player.GetAsync("/api/pools/leaderboards?scope=global&period=week")).StatusCode);
        await using (var redis = await ConnectionMultiplexer.ConnectAsync(app.RedisConnectionString))
        {
            await redis.GetDatabase().KeyDeleteAsync([.. redis.GetServers().Single().Keys(pattern: "pools:leaderboard:*")]);
        }

        // As a group commit of settled bets would, from outside the service's connection pool.
        await using var holder = new NpgsqlConnection(app.ConnectionString);
        await holder.OpenAsync();
        await using var holding = await holder.BeginTransactionAsync();
        await using (var batch = new NpgsqlBatch(holder, holding) { BatchCommands = { ReadModelLocks.Exclusive(ReadModelLocks.Leaderboards) } })
        {
            await batch.ExecuteNonQueryAsync();
        }

        var maxPoolSize = new NpgsqlConnectionStringBuilder(app.ConnectionString).MaxPoolSize;
        var reads = Enumerable.Range(0, maxPoolSize + 10).Select(_ => player.GetAsync("/api/pools/leaderboards?scope=global&period=week")).ToArray();
        await Task.Delay(TimeSpan.FromMilliseconds(500)); // every read has found the board missing

        var poolRead = player.GetAsync($"/api/pools/{pool.Id}");
        Assert.True(await Task.WhenAny(poolRead, Task.Delay(AFewSeconds)) == poolRead,
            $"A pool read waited more than {AFewSeconds.TotalSeconds} s for a connection while leaderboard readers waited for the lock.");
        Assert.Equal(HttpStatusCode.OK, (await poolRead).StatusCode);

        // Still held: every reader answered, the builder once its lock timeout ran out, with the board or a retryable problem.
        var all = Task.WhenAll(reads);
        Assert.True(await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(15))) == all, "The leaderboard reads waited for the lock holder.");
        foreach (var response in await all)
        {
            if (response.StatusCode != HttpStatusCode.OK)
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                Assert.Equal("https://streambets.dev/problems/leaderboards-unavailable", (await response.ProblemAsync()).Type);
                Assert.NotNull(response.Headers.RetryAfter);
            }
        }

        await holding.RollbackAsync();
        Assert.Equal(HttpStatusCode.OK, (await player.GetAsync("/api/pools/leaderboards?scope=global&period=week")).StatusCode);
    }

    [Fact]
    public async Task A_missing_board_is_built_while_settled_bets_take_turns_on_its_lock()
    {
        using var player = app.Player();
        Assert.Equal(HttpStatusCode.OK, (await player.GetAsync("/api/pools/leaderboards?scope=global&period=week")).StatusCode);
        await using (var redis = await ConnectionMultiplexer.ConnectAsync(app.RedisConnectionString))
        {
            await redis.GetDatabase().KeyDeleteAsync([.. redis.GetServers().Single().Keys(pattern: "pools:leaderboard:*")]);
        }

        // Two replicas' group commits: one always holds the lock and the other always waits, so it is never free.
        using var stop = new CancellationTokenSource();
        var settling = new[] { SettleAsync(stop.Token), SettleAsync(stop.Token) };
        try
        {
            await Task.Delay(TimeSpan.FromMilliseconds(500));
            var giveUpAt = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            HttpStatusCode status;
            do
            {
                status = (await player.GetAsync("/api/pools/leaderboards?scope=global&period=week")).StatusCode;
            }
            while (status != HttpStatusCode.OK && DateTime.UtcNow < giveUpAt);
            Assert.Equal(HttpStatusCode.OK, status);
        }
        finally
        {
            stop.Cancel();
            await Task.WhenAll(settling);
        }
    }

    private async Task SettleAsync(CancellationToken stop)
    {
        await using var connection = new NpgsqlConnection(app.ConnectionString);
        await connection.OpenAsync();
        while (!stop.IsCancellationRequested)
        {
            await using var transaction = await connection.BeginTransactionAsync();
            await using (var batch = new NpgsqlBatch(connection, transaction) { BatchCommands = { ReadModelLocks.Exclusive(ReadModelLocks.Leaderboards) } })
            {
                await batch.ExecuteNonQueryAsync();
            }
            await Task.Delay(TimeSpan.FromMilliseconds(300));
            await transaction.CommitAsync();
        }
    }
}
