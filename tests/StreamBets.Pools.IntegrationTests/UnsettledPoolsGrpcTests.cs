using Microsoft.Extensions.Hosting;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Npgsql;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Contracts.Pools;
using StreamBets.Pools.Data;
using StreamBets.Testing;
using PoolsClient = StreamBets.Contracts.Pools.Pools.PoolsClient;

namespace StreamBets.Pools.IntegrationTests;

/// <summary>
/// ListUnsettledPools, which Settlement's reconciler reads to find a finished pool whose PoolResolved or PoolCancelled it
/// never received: only resolved and cancelled pools with no PoolSettled yet, closed before the cutoff, oldest first.
/// </summary>
public sealed class UnsettledPoolsGrpcTests(PoolsApp app) : IClassFixture<PoolsApp>
{
    private PoolsClient Client => new(app.GrpcChannel);

    [Fact]
    public async Task Only_resolved_and_cancelled_pools_not_settled_and_finished_before_the_cutoff_are_listed_oldest_first()
    {
        using var admin = app.Admin();
        var resolved = await admin.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));
        await admin.ActAsync(resolved.Id, "lock");
        await admin.ActAsync(resolved.Id, "resolve", new { winningOutcomeIds = new[] { resolved.Outcomes[0].Id } });
        var cancelled = await admin.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));
        await admin.ActAsync(cancelled.Id, "cancel");
        var settled = await admin.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));
        await admin.ActAsync(settled.Id, "cancel");
        await app.PublishAsync(new PoolSettled(settled.Id, 0, 0, 0, 0, 0, 0, app.Clock.GetUtcNow()));
        Assert.True(await PoolsApp.EventuallyAsync(async () => (await admin.GetPoolAsync(settled.Id)).SettledAt is not null), "PoolSettled was not applied.");
        var open = await admin.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));
        var locked = await admin.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));
        await admin.ActAsync(locked.Id, "lock");

        var cutoff = app.Clock.GetUtcNow();
        app.Clock.Advance(TimeSpan.FromSeconds(1));
        var recent = await admin.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));
        await admin.ActAsync(recent.Id, "lock");
        await admin.ActAsync(recent.Id, "resolve", new { winningOutcomeIds = new[] { recent.Outcomes[1].Id } });

        var all = await ListAsync(cutoff, limit: 1_000);
        Guid[] mine = [resolved.Id, cancelled.Id, settled.Id, open.Id, locked.Id, recent.Id];
        Assert.Equal(
            [(resolved.Id.ToString(), PoolState.Resolved), (cancelled.Id.ToString(), PoolState.Cancelled)],
            all.Where(p => mine.Contains(Guid.Parse(p.PoolId))).Select(p => (p.PoolId, p.State)));
        Assert.All(all, p => Assert.True(p.ClosedAt.ToDateTimeOffset() <= cutoff));
        Assert.Equal(all.OrderBy(p => p.ClosedAt.ToDateTimeOffset()).ThenBy(p => Guid.Parse(p.PoolId)).Select(p => p.PoolId), all.Select(p => p.PoolId));
        var resolvedDetail = await admin.GetPoolAsync(resolved.Id);
        Assert.Equal(resolvedDetail.ClosedAt, all.Single(p => p.PoolId == resolved.Id.ToString()).ClosedAt.ToDateTimeOffset());

        // Paged one at a time with the cursor: the same list, each pool once.
        var paged = new List<UnsettledPool>();
        var request = new ListUnsettledPoolsRequest { FinishedBefore = Timestamp.FromDateTimeOffset(cutoff), Limit = 1 };
        while (true)
        {
            var page = (await Client.ListUnsettledPoolsAsync(request)).Pools;
            paged.AddRange(page);
            if (page.Count < request.Limit)
            {
                break;
            }
            (request.AfterClosedAt, request.AfterPoolId) = (page[^1].ClosedAt, page[^1].PoolId);
        }
        Assert.Equal(all.Select(p => p.PoolId), paged.Select(p => p.PoolId));

        // The recent one is listed once the cutoff passes its close.
        Assert.Contains(recent.Id.ToString(), (await ListAsync(app.Clock.GetUtcNow(), limit: 1_000)).Select(p => p.PoolId));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1_001)]
    public async Task A_limit_outside_1_to_1000_is_refused(int limit)
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => ListAsync(app.Clock.GetUtcNow(), limit));
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
    }

    private async Task<List<UnsettledPool>> ListAsync(DateTimeOffset finishedBefore, int limit) =>
        [.. (await Client.ListUnsettledPoolsAsync(new ListUnsettledPoolsRequest { FinishedBefore = Timestamp.FromDateTimeOffset(finishedBefore), Limit = limit })).Pools];
}

/// <summary>Settlement's reconciler asks every few minutes: it must read only the unsettled finished pools, by their partial index.</summary>
public sealed class UnsettledPoolsQueryPlanTests
{
    [Fact]
    public async Task Unsettled_finished_pools_are_read_from_their_partial_index_not_from_every_pool()
    {
        var connectionString = await (await TestServers.PostgresAsync()).CreateDatabaseAsync("unsettled-pools-plan");
        await PostgresSchema.MigrateAsync(connectionString, typeof(PoolStore).Assembly);
        await using var database = NpgsqlDataSource.Create(connectionString);
        // 50,000 finished pools, all but one in 500 settled, and some live ones.
        await using (var fill = database.CreateCommand("""
            INSERT INTO pools (id, channel_provider, channel_id, created_by, title, betting_window, min_stake_minor, max_stake_minor,
                               rake_bps, state, exclusive, created_at, closed_at, settled_at)
            SELECT gen_random_uuid(), 'twitch', 'channel' || g, gen_random_uuid(), 'Who wins?', interval '60 seconds', 100, 10000, 500,
                   CASE WHEN g % 20 = 0 THEN 'open' WHEN g % 3 = 0 THEN 'cancelled' ELSE 'resolved' END, false, now() - interval '3 days',
                   CASE WHEN g % 20 = 0 THEN NULL ELSE now() - (g % 4000 + 20) * interval '1 minute' END,
                   CASE WHEN g % 20 = 0 OR g % 500 = 1 THEN NULL ELSE now() - (g % 4000 + 19) * interval '1 minute' END
            FROM generate_series(1, 50000) g;
            ANALYZE pools;
            """))
        {
            await fill.ExecuteNonQueryAsync();
        }

        var cutoff = DateTimeOffset.UtcNow.AddMinutes(-10);
        foreach (var plan in new[]
        {
            await QueryPlans.ExplainAsync(database, PoolStore.UnsettledSql, [cutoff, 500]),
            await QueryPlans.ExplainAsync(database, PoolStore.UnsettledAfterSql, [cutoff, 500, cutoff.AddDays(-1), Guid.Empty]),
        })
        {
            Assert.Contains("pools_unsettled_by_closed_at", plan);
            Assert.DoesNotContain("Seq Scan", plan);
        }

        var store = new PoolStore(database);
        var listed = await store.UnsettledAsync(cutoff, null, 1_000, default);
        Assert.Equal(100, listed.Count); // g % 500 = 1: finished, never settled
        Assert.Equal(listed.OrderBy(p => p.ClosedAt).ThenBy(p => p.Id), listed);
    }
}
