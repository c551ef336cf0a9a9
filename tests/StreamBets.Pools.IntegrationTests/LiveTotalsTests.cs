using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Pools.Stakes;

namespace StreamBets.Pools.IntegrationTests;

/// <summary>BetsPlaced (from the BetEngine) feeds each outcome's totals, the live odds in a pool's detail, and the PoolLocked totals.</summary>
public sealed class LiveTotalsTests(PoolsApp app) : IClassFixture<PoolsApp>
{
    private PlacedBetLine Bet(PoolJson pool, int outcome, long stake) =>
        new(Guid.NewGuid(), Guid.NewGuid(), pool.Outcomes[outcome].Id, stake, app.Clock.GetUtcNow());

    private static BetsPlaced Placed(PoolJson pool, params PlacedBetLine[] bets) => new(pool.Id, bets);

    [Fact]
    public async Task Placed_bets_show_as_totals_and_live_odds_in_the_pools_detail()
    {
        using var streamer = app.NewStreamer(out _);
        var pool = await streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));

        await app.PublishAsync(Placed(pool, Bet(pool, 0, 3000), Bet(pool, 1, 600)), Placed(pool, Bet(pool, 1, 400)));

        Assert.True(await PoolsApp.EventuallyAsync(async () => (await streamer.GetPoolAsync(pool.Id)).TotalStakedMinor == 4000));
        var detail = await streamer.GetPoolAsync(pool.Id);
        // T = 4000, rake 5 % = 200, net 3800: Yes returns 3800 / 3000 per unit, No 3800 / 1000, Draw has no backer yet.
        Assert.Equal([(3000L, 1, 3800m / 3000m), (1000L, 2, 3.8m)], detail.Outcomes[..2].Select(o => (o.StakedMinor, o.BetCount, o.ReturnPerUnit!.Value)));
        Assert.Equal((0L, 0, (decimal?)null), (detail.Outcomes[2].StakedMinor, detail.Outcomes[2].BetCount, detail.Outcomes[2].ReturnPerUnit));
    }

    [Fact]
    public async Task A_decided_pool_shows_what_settlement_pays_per_unit_not_the_odds_of_each_outcome_winning_alone()
    {
        using var streamer = app.NewStreamer(out _);

        // Yes 200, No 300, Draw 500 (T = 1000, rake 50) in a dead heat of Yes and No: each winning unit gets
        // 950 / (200 + 300) = 1.90, as settlement pays it (alone, Yes would have shown 4.75 and No 3.1667); Draw lost.
        Assert.Equal([1.9m, 1.9m, null], await ReturnsOfAsync(streamer, [200, 300, 500], winners: [0, 1]));
        Assert.Equal([null, null, 1.9m], await ReturnsOfAsync(streamer, [200, 300, 500], winners: [2]));
        // Nobody backed Draw, the winner: settlement refunds everyone.
        Assert.Equal([1m, 1m, null], await ReturnsOfAsync(streamer, [200, 300, 0], winners: [2]));
        Assert.Equal([null, null, null], await ReturnsOfAsync(streamer, [200, 300, 500], winners: null));
    }

    /// <summary>A new pool with these stakes per outcome, locked, then resolved with the winners given (cancelled when null): its outcomes' returnPerUnit.</summary>
    private async Task<decimal?[]> ReturnsOfAsync(HttpClient streamer, long[] stakes, int[]? winners)
    {
        var pool = await streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));
        await app.PublishAsync(Placed(pool, [.. stakes.Select((stake, outcome) => (stake, outcome)).Where(s => s.stake > 0).Select(s => Bet(pool, s.outcome, s.stake))]));
        Assert.True(await PoolsApp.EventuallyAsync(async () => (await streamer.GetPoolAsync(pool.Id)).TotalStakedMinor == stakes.Sum()));
        await streamer.ActAsync(pool.Id, "lock");
        using var decided = winners is null
            ? await streamer.ActAsync(pool.Id, "cancel")
            : await streamer.ActAsync(pool.Id, "resolve", new { winningOutcomeIds = winners.Select(w => pool.Outcomes[w].Id).ToArray() });
        Assert.True(decided.IsSuccessStatusCode, $"{decided.StatusCode}: {await decided.Content.ReadAsStringAsync()}");
        return [.. (await streamer.GetPoolAsync(pool.Id)).Outcomes.Select(o => o.ReturnPerUnit)];
    }

    [Fact]
    public async Task Totals_survive_redis_losing_the_pools_hash()
    {
        using var streamer = app.NewStreamer(out _);
        var pool = await streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));
        await app.PublishAsync(Placed(pool, Bet(pool, 2, 700)));
        Assert.True(await CountedAsync(pool.Id, 700));
        await using var redis = await ConnectionMultiplexer.ConnectAsync(app.RedisConnectionString);

        await redis.GetDatabase().KeyDeleteAsync(PoolStakes.Key(pool.Id));

        var detail = await streamer.GetPoolAsync(pool.Id);
        Assert.Equal((700L, 1), (detail.Outcomes[2].StakedMinor, detail.Outcomes[2].BetCount));
        Assert.True(await redis.GetDatabase().KeyExistsAsync(PoolStakes.Key(pool.Id)));
    }

    [Fact]
    public async Task Readers_of_a_lost_hash_do_not_queue_on_its_refill()
    {
        using var streamer = app.NewStreamer(out _);
        var pool = await streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));
        await app.PublishAsync(Placed(pool, Bet(pool, 1, 800)));
        Assert.True(await CountedAsync(pool.Id, 800));
        await using var redis = await ConnectionMultiplexer.ConnectAsync(app.RedisConnectionString);
        await redis.GetDatabase().KeyDeleteAsync(PoolStakes.Key(pool.Id));

        // Another reader's refill (or a rebuild) holds the pool's stakes lock: as when a Redis restart dropped every hash
        // and all the viewers of a hot pool read it at once.
        await using (var holder = new Npgsql.NpgsqlConnection(app.ConnectionString))
        {
            await holder.OpenAsync();
            await using var held = await holder.BeginTransactionAsync();
            var (lockClass, key) = Data.ReadModelLocks.PoolStakes(pool.Id);
            await using (var take = new Npgsql.NpgsqlCommand($"SELECT pg_advisory_xact_lock({lockClass}, {key})", holder, held))
            {
                await take.ExecuteNonQueryAsync();
            }

            // Not a speed measurement: a reader that waits for the lock never answers while it is held.
            var reads = Enumerable.Range(0, 5).Select(_ => streamer.GetPoolAsync(pool.Id)).ToArray();
            await Task.WhenAny(Task.WhenAll(reads), Task.Delay(TimeSpan.FromSeconds(20)));
            Assert.True(reads.All(r => r.IsCompleted), "Readers waited for another reader's refill of the stakes hash.");
            Assert.All(reads, r => Assert.Equal(800, r.Result.TotalStakedMinor));
            Assert.False(await redis.GetDatabase().KeyExistsAsync(PoolStakes.Key(pool.Id)), "A reader without the lock wrote the hash.");
        }

        // The lock free again, the next reader refills.
        Assert.Equal(800, (await streamer.GetPoolAsync(pool.Id)).TotalStakedMinor);
        Assert.True(await redis.GetDatabase().KeyExistsAsync(PoolStakes.Key(pool.Id)));
    }

    [Fact]
    public async Task Totals_are_read_from_postgresql_while_redis_does_not_answer()
    {
        using var streamer = app.NewStreamer(out _);
        var pool = await streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));
        await app.PublishAsync(Placed(pool, Bet(pool, 1, 900)));
        Assert.True(await CountedAsync(pool.Id, 900));
        // Nothing listens on port 1: every command fails after the client's timeout, as during a Redis outage.
        await using var down = await ConnectionMultiplexer.ConnectAsync("127.0.0.1:1,abortConnect=false,connectTimeout=200,connectRetry=0,asyncTimeout=3000");
        var stakes = new PoolStakes(down, app.Services.GetRequiredService<Npgsql.NpgsqlDataSource>(), app.Clock);

        var read = await stakes.GetAsync(pool.Id, [.. pool.Outcomes.Select(o => o.Id)], default);
        var next = Stopwatch.StartNew();
        var again = await stakes.GetAsync(pool.Id, [.. pool.Outcomes.Select(o => o.Id)], default);

        Assert.Equal([(0L, 0), (900L, 1), (0L, 0)], read.Select(r => (r.StakedMinor, r.BetCount)));
        Assert.Equal(read, again);
        // Not a speed measurement: the next read must not wait out Redis's 3 s timeout again (a list of pools would
        // wait it once per pool).
        Assert.True(next.Elapsed < TimeSpan.FromSeconds(2), $"The next read tried Redis again ({next.Elapsed}).");
    }

    [Fact]
    public async Task Totals_are_read_from_postgresql_when_redis_answers_reads_but_refuses_writes()
    {
        using var streamer = app.NewStreamer(out _);
        var pool = await streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));
        await app.PublishAsync(Placed(pool, Bet(pool, 0, 400)));
        Assert.True(await CountedAsync(pool.Id, 400));
        await using var redis = await ConnectionMultiplexer.ConnectAsync(app.RedisConnectionString);
        await redis.GetDatabase().KeyDeleteAsync(PoolStakes.Key(pool.Id));
        // As a Redis out of memory or a read-only replica answers: reads work, every write is refused.
        await redis.GetDatabase().ExecuteAsync("ACL", "SETUSER", "pools-reads-only", "on", ">reads-only", "~*", "+@all", "-@write");
        await using var readsOnly = await ConnectionMultiplexer.ConnectAsync($"{app.RedisConnectionString},user=pools-reads-only,password=reads-only");
        var stakes = new PoolStakes(readsOnly, app.Services.GetRequiredService<Npgsql.NpgsqlDataSource>(), app.Clock);

        var read = await stakes.GetAsync(pool.Id, [.. pool.Outcomes.Select(o => o.Id)], default);

        Assert.Equal([(400L, 1), (0L, 0), (0L, 0)], read.Select(r => (r.StakedMinor, r.BetCount)));
    }

    [Fact]
    public async Task Bets_counted_after_redis_lost_the_hash_leave_the_other_outcomes_totals_whole()
    {
        using var streamer = app.NewStreamer(out _);
        var pool = await streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));
        await app.PublishAsync(Placed(pool, Bet(pool, 0, 1000), Bet(pool, 1, 500)));
        Assert.True(await CountedAsync(pool.Id, 1500));
        await using var redis = await ConnectionMultiplexer.ConnectAsync(app.RedisConnectionString);
        await redis.GetDatabase().KeyDeleteAsync(PoolStakes.Key(pool.Id));

        // Counted before anyone reads the pool again: only outcome 0 changes.
        await app.PublishAsync(Placed(pool, Bet(pool, 0, 100)));
        Assert.True(await PoolsApp.EventuallyAsync(async () =>
            await app.ScalarAsync<long>("SELECT staked_minor FROM pool_outcomes WHERE id = $1", pool.Outcomes[0].Id) == 1100));

        var detail = await streamer.GetPoolAsync(pool.Id);
        Assert.Equal(1600, detail.TotalStakedMinor);
        Assert.Equal([(1100L, 2), (500L, 1), (0L, 0)], detail.Outcomes.Select(o => (o.StakedMinor, o.BetCount)));
    }

    [Fact]
    public async Task A_bet_on_an_unknown_outcome_is_ignored_and_the_rest_of_its_batch_still_counts()
    {
        using var streamer = app.NewStreamer(out _);
        var pool = await streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));

        await app.PublishAsync(Placed(pool, Bet(pool, 0, 100) with { OutcomeId = Guid.NewGuid() }, Bet(pool, 0, 250)));

        Assert.True(await PoolsApp.EventuallyAsync(async () => (await streamer.GetPoolAsync(pool.Id)).TotalStakedMinor == 250));
        Assert.Equal(1, (await streamer.GetPoolAsync(pool.Id)).Outcomes[0].BetCount);
    }

    [Fact]
    public async Task The_locked_event_carries_the_stakes_counted_so_far()
    {
        using var streamer = app.NewStreamer(out _);
        var pool = await streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));
        await app.PublishAsync(Placed(pool, Bet(pool, 0, 1000), Bet(pool, 1, 2000), Bet(pool, 1, 500)));
        Assert.True(await CountedAsync(pool.Id, 3500)); // in poolsdb, which the lock reads

        await streamer.ActAsync(pool.Id, "lock");

        var locked = (await app.EventsAsync(pool.Id)).Single(e => e.Type == "streambets.pools.locked.v1").Data;
        Assert.Equal(3500, locked.GetProperty("totalStakedMinor").GetInt64());
        Assert.Equal(
            [(pool.Outcomes[0].Id, 1000L, 1), (pool.Outcomes[1].Id, 2500L, 2), (pool.Outcomes[2].Id, 0L, 0)],
            locked.GetProperty("outcomes").EnumerateArray().Select(o => (o.GetProperty("outcomeId").GetGuid(), o.GetProperty("stakedMinor").GetInt64(), o.GetProperty("betCount").GetInt32())));
    }

    /// <summary>
    /// Waits until poolsdb has committed the pool's counted stakes. The handler writes the Redis totals the pool's view
    /// shows just before its transaction commits, so the view can show them a moment before PostgreSQL (which a refill, a
    /// read while Redis is down, or the lock reads) has them: a test that then drops the hash read 0 under load.
    /// </summary>
    private Task<bool> CountedAsync(Guid poolId, long totalMinor) => PoolsApp.EventuallyAsync(async () =>
        await app.ScalarAsync<long>("SELECT coalesce(sum(staked_minor), 0)::bigint FROM pool_outcomes WHERE pool_id = $1", poolId) == totalMinor);
}
