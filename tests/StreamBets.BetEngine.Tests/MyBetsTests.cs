using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using StreamBets.BetEngine.Apis;
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

    private async Task PublishAsync(IIntegrationEvent @event)
    {
        var db = stack.Pools.GetRequiredService<NpgsqlDataSource>();
        await using var connection = await db.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await stack.Pools.GetRequiredService<IOutbox>().AddAsync(transaction, @event);
        await transaction.CommitAsync();
    }
}
