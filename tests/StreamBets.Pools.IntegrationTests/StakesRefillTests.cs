using System.Diagnostics;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Pools.Apis;
using StreamBets.Pools.Stakes;
using StreamBets.Testing;

namespace StreamBets.Pools.IntegrationTests;

/// <summary>
/// Refilling the stakes hashes Redis lost (finished pools' expire after 7 days, a restart drops them all): a list of
/// pools must not cost a PostgreSQL round trip per pool, and no refill may leave a hash that never expires.
/// </summary>
public sealed class StakesRefillTests(PoolsApp app) : IClassFixture<PoolsApp>
{
    private const string RequestsSource = "StreamBets.Pools.IntegrationTests.StakesRefill";
    private static readonly ActivitySource Traced = new(RequestsSource);

    [Fact]
    public async Task A_list_of_100_pools_whose_hashes_expired_is_refilled_in_one_postgresql_round_trip()
    {
        using var admin = app.Admin();
        var pools = new List<PoolJson>();
        foreach (var chunk in Enumerable.Range(0, PoolsApi.MaxPoolsById).Chunk(10))
        {
            pools.AddRange(await Task.WhenAll(chunk.Select(_ => admin.CreatePoolAsync(Requests.Pool(Requests.NewChannel())))));
        }
        // Every pool its own totals, so a mixed-up refill shows.
        var staked = pools.Select((p, i) => (Pool: p, Outcome: i % 3, Stake: 100L + i)).ToArray();
        await app.PublishAsync([.. staked.Select(s => new BetsPlaced(s.Pool.Id, [new(Guid.NewGuid(), Guid.NewGuid(), s.Pool.Outcomes[s.Outcome].Id, s.Stake, app.Clock.GetUtcNow())]))]);
        var ids = string.Join(',', pools.Select(p => p.Id));
        Assert.True(await PoolsApp.EventuallyAsync(async () =>
            (await admin.GetFromJsonAsync<PoolJson[]>($"/api/pools?ids={ids}"))!.Sum(p => p.TotalStakedMinor) == staked.Sum(s => s.Stake)));
        await using var redis = await ConnectionMultiplexer.ConnectAsync(app.RedisConnectionString);
        await Task.WhenAll(pools.Select(p => redis.GetDatabase().KeyDeleteAsync(PoolStakes.Key(p.Id))));

        using var traced = new RecordedActivities(RequestsSource);
        using var statements = new RecordedActivities("Npgsql");
        PoolJson[] listed;
        ActivityTraceId trace;
        using (var request = Traced.StartActivity("GET /api/pools?ids="))
        {
            trace = request!.TraceId;
            listed = (await admin.GetFromJsonAsync<PoolJson[]>($"/api/pools?ids={ids}"))!;
        }

        var byId = listed.ToDictionary(p => p.Id);
        Assert.All(staked, s => Assert.Equal(
            [.. Enumerable.Range(0, 3).Select(o => o == s.Outcome ? (s.Stake, 1) : (0L, 0))],
            byId[s.Pool.Id].Outcomes.Select(o => (o.StakedMinor, o.BetCount))));
        var inRequest = statements.Stopped.Count(a => a.TraceId == trace);
        Assert.True(inRequest >= 1, "No PostgreSQL statement was traced in the request: the count below would prove nothing.");
        // The pools' read, then one batch for every refill (its try-locks and totals); before, two statements per pool.
        Assert.True(inRequest <= 2, $"Listing 100 pools whose hashes expired ran {inRequest} PostgreSQL statements.");
        Assert.All(pools, p => Assert.NotNull(redis.GetDatabase().KeyTimeToLive(PoolStakes.Key(p.Id))));
    }

    [Fact]
    public async Task A_refilled_stakes_hash_never_stands_without_its_expiry()
    {
        using var admin = app.Admin();
        var pool = await admin.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));
        await app.PublishAsync(new BetsPlaced(pool.Id, [new(Guid.NewGuid(), Guid.NewGuid(), pool.Outcomes[1].Id, 600, app.Clock.GetUtcNow())]));
        Assert.True(await PoolsApp.EventuallyAsync(async () => (await admin.GetPoolAsync(pool.Id)).TotalStakedMinor == 600));
        await using var redis = await ConnectionMultiplexer.ConnectAsync(app.RedisConnectionString);
        await redis.GetDatabase().KeyDeleteAsync(PoolStakes.Key(pool.Id));
        // A connection lost between the hash's write and its expiry, made certain: this user may write the hash, never its expiry.
        await redis.GetDatabase().ExecuteAsync("ACL", "SETUSER", "pools-no-expire", "on", ">no-expire", "~*", "+@all", "-expire");
        await using var noExpire = await ConnectionMultiplexer.ConnectAsync($"{app.RedisConnectionString},user=pools-no-expire,password=no-expire");
        var stakes = ActivatorUtilities.CreateInstance<PoolStakes>(app.Services, noExpire);

        var read = await stakes.GetAsync(pool.Id, [.. pool.Outcomes.Select(o => o.Id)], default);

        Assert.Equal([(0L, 0), (600L, 1), (0L, 0)], read.Select(r => (r.StakedMinor, r.BetCount)));
        Assert.False(await redis.GetDatabase().KeyExistsAsync(PoolStakes.Key(pool.Id)) && await redis.GetDatabase().KeyTimeToLiveAsync(PoolStakes.Key(pool.Id)) is null,
            "The refill left the stakes hash without an expiry: it would never leave Redis.");
    }
}
