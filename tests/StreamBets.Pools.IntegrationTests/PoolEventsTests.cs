using System.Net;
using System.Text.Json;

namespace StreamBets.Pools.IntegrationTests;

/// <summary>Every transition writes its integration event to the outbox in the very transaction that changed the pool.</summary>
public sealed class PoolEventsTests(PoolsApp app) : IClassFixture<PoolsApp>
{
    [Fact]
    public async Task Each_transition_writes_its_event_in_the_transaction_that_changed_the_pool()
    {
        using var streamer = app.NewStreamer(out var streamerId);
        var channel = Requests.NewChannel();
        var pool = await streamer.CreatePoolAsync(Requests.Pool(channel));
        await streamer.ActAsync(pool.Id, "lock");
        await streamer.ActAsync(pool.Id, "resolve", new { winningOutcomeIds = new[] { pool.Outcomes[1].Id } });

        var writes = await app.PoolWritesAsync(pool.Id);
        var events = await app.EventsAsync(pool.Id);

        Assert.Equal(["open", "locked", "resolved"], writes.Select(w => w.State));
        Assert.Equal(
            [
                ("streambets.pools.created.v1", writes[0].TxId),
                ("streambets.pools.opened.v1", writes[0].TxId),
                ("streambets.pools.locked.v1", writes[1].TxId),
                ("streambets.pools.resolved.v1", writes[2].TxId),
            ],
            events.Select(e => (e.Type, e.TxId)));
        Assert.Equal(3, writes.Select(w => w.TxId).Distinct().Count());

        var created = events[0].Data;
        Assert.Equal(streamerId, created.GetProperty("streamerId").GetGuid());
        Assert.Equal($"twitch:{channel}", created.GetProperty("channelId").GetString());
        Assert.Equal(pool.Outcomes.Select(o => o.Id), created.GetProperty("outcomes").EnumerateArray().Select(o => o.GetProperty("outcomeId").GetGuid()));
        Assert.Equal(pool.LocksAt, events[1].Data.GetProperty("locksAt").GetDateTimeOffset());
        Assert.Equal([pool.Outcomes[1].Id], events[3].Data.GetProperty("winningOutcomeIds").EnumerateArray().Select(e => e.GetGuid()));
    }

    [Fact]
    public async Task A_refused_transition_writes_neither_the_pool_nor_an_event()
    {
        using var streamer = app.NewStreamer(out _);
        var pool = await streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));

        var refused = await streamer.ActAsync(pool.Id, "resolve", new { winningOutcomeIds = new[] { pool.Outcomes[0].Id } });

        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Single(await app.PoolWritesAsync(pool.Id));
        Assert.Equal(2, (await app.EventsAsync(pool.Id)).Count);
    }

    [Fact]
    public async Task The_relay_publishes_the_outbox_and_empties_it()
    {
        using var streamer = app.NewStreamer(out _);
        var pool = await streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));

        Assert.True(await PoolsApp.EventuallyAsync(async () =>
            await app.ScalarAsync<long>("SELECT count(*) FROM outbox WHERE partition_key = $1", pool.Id.ToString()) == 0));
        Assert.Equal(2, (await app.EventsAsync(pool.Id)).Count);
    }

    [Fact]
    public async Task A_cancelled_event_names_the_reason_the_settlement_contract_expects()
    {
        using var streamer = app.NewStreamer(out _);
        var pool = await streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));

        await streamer.ActAsync(pool.Id, "cancel");

        var cancelled = (await app.EventsAsync(pool.Id)).Single(e => e.Type == "streambets.pools.cancelled.v1");
        Assert.Equal("streamer", cancelled.Data.GetProperty("reason").GetString());
        Assert.Equal(JsonValueKind.String, cancelled.Data.GetProperty("cancelledAt").ValueKind);
    }
}
