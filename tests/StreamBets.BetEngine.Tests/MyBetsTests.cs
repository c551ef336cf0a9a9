using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using StreamBets.BetEngine.Apis;
using StreamBets.BetEngine.Data;
using StreamBets.BetEngine.Placement;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;

namespace StreamBets.BetEngine.Tests;

[Collection(StackCollection.Name)]
public sealed class MyBetsTests(BetEngineStack stack)
{
    [Fact]
    public async Task My_bets_are_listed_newest_first_a_page_at_a_time_and_split_into_open_and_settled()
    {
        var player = await stack.NewPlayerAsync(10_000);
        var client = stack.BetClient(player);
        var placed = new List<BetView>();
        foreach (var stake in new long[] { 300, 400, 500 })
        {
            var pool = await stack.NewPoolAsync();
            placed.Add(await (await client.PlaceAsync(pool, pool.Outcomes[0], stake)).BetAsync());
        }
        var someoneElse = await stack.NewPlayerAsync(10_000);
        var theirPool = await stack.NewPoolAsync();
        await (await stack.BetClient(someoneElse).PlaceAsync(theirPool, theirPool.Outcomes[0], 999)).BetAsync();

        var firstPage = await client.GetFromJsonAsync<BetPageView>("/api/bets/mine?limit=2");
        var secondPage = await client.GetFromJsonAsync<BetPageView>($"/api/bets/mine?limit=2&cursor={firstPage!.NextCursor}");

        Assert.Equal([placed[2].BetId, placed[1].BetId], firstPage.Items.Select(b => b.BetId));
        Assert.Equal([placed[0].BetId], secondPage!.Items.Select(b => b.BetId));
        Assert.Null(secondPage.NextCursor);

        // Settlement pays the first bet: BetsSettled travels the bus (written here through the Pools service's outbox).
        await PublishAsync(new BetsSettled(placed[0].PoolId, [new SettledBetLine(placed[0].BetId, player.Id, "won", 300, 540)], DateTimeOffset.UtcNow));
        Assert.True(await BetEngineStack.EventuallyAsync(async () =>
            (await client.GetFromJsonAsync<BetPageView>("/api/bets/mine?status=settled"))!.Items.Count == 1));

        var settled = await client.GetFromJsonAsync<BetPageView>("/api/bets/mine?status=settled");
        var open = await client.GetFromJsonAsync<BetPageView>("/api/bets/mine?status=open");
        Assert.Equal(("won", 540L), (settled!.Items[0].SettledResult, settled.Items[0].PayoutMinor!.Value));
        Assert.Equal([placed[2].BetId, placed[1].BetId], open!.Items.Select(b => b.BetId));
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, (await client.GetAsync("/api/bets/mine?status=lost")).StatusCode);

        // One pool's bets only (the pool page asks this way, however many other bets are open).
        var onePool = await client.GetFromJsonAsync<BetPageView>($"/api/bets/mine?status=open&poolId={placed[1].PoolId}");
        Assert.Equal([placed[1].BetId], onePool!.Items.Select(b => b.BetId));
        var theirs = await client.GetFromJsonAsync<BetPageView>($"/api/bets/mine?poolId={theirPool.Id}");
        Assert.Empty(theirs!.Items);
        var unreadable = await client.GetAsync("/api/bets/mine?poolId=not-a-pool");
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, unreadable.StatusCode);
        Assert.Equal("application/problem+json", unreadable.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("/api/bets/mine?limit=ten", "limit")]
    [InlineData("/api/bets/mine?limit=99999999999", "limit")]
    [InlineData("/api/bets/mine?limit=0", "limit")]
    [InlineData("/api/bets/mine?poolId=not-a-pool", "poolId")]
    [InlineData("/api/bets/mine?cursor=not-a-cursor", "cursor")]
    [InlineData("/api/bets/mine?status=won", "status")]
    [InlineData("/api/bets/users/{user}?limit=ten", "limit")]
    [InlineData("/api/bets/users/{user}?poolId=not-a-pool", "poolId")]
    public async Task A_query_value_that_cannot_be_read_is_an_invalid_request_naming_the_parameter(string path, string parameter)
    {
        // As an admin, who may read both lists.
        var admin = stack.BetClient(new TestPlayer(Guid.NewGuid(), BetEngineStack.Token(Guid.NewGuid(), AuthenticationDefaults.Roles.Admin)));

        var response = await admin.GetAsync(path.Replace("{user}", $"{Guid.NewGuid()}"));

        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(BetRequests.Problem("invalid-request"), problem.RootElement.GetProperty("type").GetString());
        Assert.NotEmpty(problem.RootElement.GetProperty("errors").GetProperty(parameter).EnumerateArray().Single().GetString()!);
    }

    [Fact]
    public async Task An_admin_lists_any_players_bets_for_support_and_a_player_may_not()
    {
        var player = await stack.NewPlayerAsync(10_000);
        var pool = await stack.NewPoolAsync();
        var bet = await (await stack.BetClient(player).PlaceAsync(pool, pool.Outcomes[0], 700)).BetAsync();
        var admin = stack.BetClient(new TestPlayer(Guid.NewGuid(), BetEngineStack.Token(Guid.NewGuid(), AuthenticationDefaults.Roles.Admin)));
        var stranger = stack.BetClient(await stack.NewPlayerAsync(10_000));

        var page = await admin.GetFromJsonAsync<BetPageView>($"/api/bets/users/{player.Id}?status=open");

        Assert.Equal([(bet.BetId, 700L, "accepted")], page!.Items.Select(b => (b.BetId, b.StakeMinor, b.Status)));
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, (await admin.GetAsync($"/api/bets/users/{player.Id}?limit=0")).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, (await stranger.GetAsync($"/api/bets/users/{player.Id}")).StatusCode);
    }

    [Fact]
    public async Task The_open_bets_list_costs_the_open_bets_not_the_settled_history()
    {
        // A regular with 3,000 settled bets (written as settlement leaves them) and two bets open now.
        var player = await stack.NewPlayerAsync(10_000);
        var historyPool = Guid.NewGuid();
        await using (var seed = stack.BetsDb.CreateCommand("""
            WITH history AS (
                INSERT INTO bets (bet_id, user_id, idempotency_key, pool_id, outcome_id, stake_minor, stake_transfer_id, status, placed_at, written_at)
                SELECT gen_random_uuid(), $1, 'history-' || n, $2, gen_random_uuid(), 100, gen_random_uuid(), 'accepted', now() - interval '1 day' + n * interval '1 second', now()
                FROM generate_series(1, 3000) n
                RETURNING bet_id)
            INSERT INTO bet_settlements (bet_id, result, payout_minor, settled_at) SELECT bet_id, 'lost', 0, now() FROM history
            """))
        {
            seed.Parameters.Add(new NpgsqlParameter { Value = player.Id });
            seed.Parameters.Add(new NpgsqlParameter { Value = historyPool });
            await seed.ExecuteNonQueryAsync();
        }
        var client = stack.BetClient(player);
        var open = new List<BetView>();
        foreach (var stake in new long[] { 300, 400 })
        {
            var pool = await stack.NewPoolAsync();
            open.Add(await (await client.PlaceAsync(pool, pool.Outcomes[0], stake)).BetAsync());
        }

        // The store's own statement, read back from the server (its one connection's last query) and EXPLAINed with the
        // values it ran with: the first page, on no pool.
        await using var oneConnection = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(stack.BetsConnectionString) { MaxPoolSize = 1 }.ConnectionString);
        var pid = await oneConnection.CreateCommand("SELECT pg_backend_pid()").ExecuteScalarAsync();
        var page = await new BetStore(oneConnection).ListForUserAsync(player.Id, BetListFilter.Open, null, null, 20, default);
        await using var lastQuery = stack.BetsDb.CreateCommand("SELECT query FROM pg_stat_activity WHERE pid = $1");
        lastQuery.Parameters.Add(new NpgsqlParameter { Value = pid });
        var sql = (string)(await lastQuery.ExecuteScalarAsync())!;
        await using var explain = stack.BetsDb.CreateCommand("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql);
        explain.Parameters.Add(new NpgsqlParameter { Value = player.Id });
        explain.Parameters.Add(new NpgsqlParameter { Value = DateTimeOffset.MaxValue });
        explain.Parameters.Add(new NpgsqlParameter { Value = Guid.Empty });
        explain.Parameters.Add(new NpgsqlParameter { Value = 21 });
        explain.Parameters.Add(new NpgsqlParameter<Guid?> { TypedValue = null, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Uuid });
        var plan = JsonDocument.Parse((string)(await explain.ExecuteScalarAsync())!).RootElement[0].GetProperty("Plan");
        var buffers = plan.GetProperty("Shared Hit Blocks").GetInt64() + plan.GetProperty("Shared Read Blocks").GetInt64();

        Assert.Equal([open[1].BetId, open[0].BetId], page.Bets.Select(b => b.BetId));
        // Walking the history touched a bets page and a bet_settlements probe per settled bet: about 12,000 buffers.
        Assert.True(buffers < 100, $"The open list read {buffers} buffers:\n{plan}");

        // Settling a bet takes it off the open list, and out of open_bets.
        await using (var connection = await stack.BetsDb.OpenConnectionAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await BetStore.MarkSettledAsync(transaction, new BetsSettled(open[1].PoolId, [new SettledBetLine(open[1].BetId, player.Id, "won", 400, 720)], DateTimeOffset.UtcNow), default);
            await transaction.CommitAsync();
        }
        var afterSettlement = await new BetStore(stack.BetsDb).ListForUserAsync(player.Id, BetListFilter.Open, null, null, 20, default);
        Assert.Equal([open[0].BetId], afterSettlement.Bets.Select(b => b.BetId));
        await using var left = stack.BetsDb.CreateCommand("SELECT count(*) FROM open_bets WHERE user_id = $1");
        left.Parameters.Add(new NpgsqlParameter { Value = player.Id });
        Assert.Equal(1L, await left.ExecuteScalarAsync());
    }

    /// <summary>
    /// In a rolling deploy, replicas on the version before open_bets still write, decide and settle bets with their own
    /// statements, which know nothing of open_bets: the table stays right all the same (007's triggers).
    /// </summary>
    [Fact]
    public async Task Bets_an_older_replica_writes_decides_or_settles_are_open_exactly_until_settled_or_rejected()
    {
        var (userId, poolId, at) = (Guid.NewGuid(), Guid.NewGuid(), DateTimeOffset.UtcNow.AddMinutes(-10));
        PendingBet Bet(int second) => new(Guid.CreateVersion7(), userId, poolId, Guid.NewGuid(), 100, at.AddSeconds(second));
        var (olds, ours) = (new[] { Bet(1), Bet(2), Bet(3) }, new[] { Bet(4), Bet(5), Bet(6) });
        // The pending write is the previous version's statement too: open_bets appears in no statement of the Bet Engine's.
        foreach (var written in new[] { olds, ours })
        {
            await new BetStore(stack.BetsDb).WritePendingAsync(poolId, [.. written.Select(b => new KeyedBet(b, $"key-{b.BetId}"))], DateTimeOffset.UtcNow, default);
        }

        // Decided in one statement, as every version's finalizer decides, and settled as the old version settles:
        // neither deletes from open_bets.
        await DecideAsync(poolId, accepted: [olds[0], olds[1], ours[0], ours[2]], rejected: [olds[2], ours[1]]);
        await using (var settle = stack.BetsDb.CreateCommand(
            "INSERT INTO bet_settlements (bet_id, result, payout_minor, settled_at) SELECT unnest($1::uuid[]), 'lost', 0, now()"))
        {
            settle.Parameters.Add(new NpgsqlParameter { Value = new[] { olds[1].BetId, ours[2].BetId } });
            await settle.ExecuteNonQueryAsync();
        }

        // The old bet is open; the settled and the rejected ones, old or ours, are not.
        Assert.Equal([olds[0].BetId, ours[0].BetId], await OpenBetRowsAsync(userId));
        var open = await new BetStore(stack.BetsDb).ListForUserAsync(userId, BetListFilter.Open, null, null, 20, default);
        Assert.Equal([ours[0].BetId, olds[0].BetId], open.Bets.Select(b => b.BetId));
    }

    /// <summary>Decides the pool's bets in one UPDATE, the way every version's finalizer does, and closes its pending batches.</summary>
    private async Task DecideAsync(Guid poolId, PendingBet[] accepted, PendingBet[] rejected)
    {
        await using var decide = stack.BetsDb.CreateCommand("""
            UPDATE bets SET status = d.status, rejection_code = d.code, decided_at = now()
            FROM unnest($1::uuid[], $2::text[], $3::text[]) AS d(bet_id, status, code) WHERE bets.bet_id = d.bet_id
            """);
        decide.Parameters.Add(new NpgsqlParameter { Value = accepted.Concat(rejected).Select(b => b.BetId).ToArray() });
        decide.Parameters.Add(new NpgsqlParameter { Value = accepted.Select(_ => "accepted").Concat(rejected.Select(_ => "rejected")).ToArray() });
        decide.Parameters.Add(new NpgsqlParameter { Value = accepted.Select(_ => (string?)null).Concat(rejected.Select(_ => "insufficient-funds")).ToArray() });
        await decide.ExecuteNonQueryAsync();
        await using var done = stack.BetsDb.CreateCommand("DELETE FROM pending_batches WHERE pool_id = $1");
        done.Parameters.Add(new NpgsqlParameter { Value = poolId });
        await done.ExecuteNonQueryAsync();
    }

    private async Task<List<Guid>> OpenBetRowsAsync(Guid userId)
    {
        await using var command = stack.BetsDb.CreateCommand("SELECT bet_id FROM open_bets WHERE user_id = $1 ORDER BY placed_at");
        command.Parameters.Add(new NpgsqlParameter { Value = userId });
        var rows = new List<Guid>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(reader.GetGuid(0));
        }
        return rows;
    }

    private async Task PublishAsync(IIntegrationEvent @event)
    {
        var db = stack.Pools.GetRequiredService<NpgsqlDataSource>();
        await using var connection = await db.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await stack.Pools.GetRequiredService<IOutbox>().AddAsync(transaction, @event);
        await transaction.CommitAsync();
    }
}
