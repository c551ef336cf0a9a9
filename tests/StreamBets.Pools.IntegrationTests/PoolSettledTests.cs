using System.Net.Http.Json;
using StreamBets.Contracts.IntegrationEvents;

namespace StreamBets.Pools.IntegrationTests;

/// <summary>PoolSettled (from Settlement) marks a finished pool paid out, once, in its detail and in the channel's results.</summary>
public sealed class PoolSettledTests(PoolsApp app) : IClassFixture<PoolsApp>
{
    [Fact]
    public async Task A_finished_pool_shows_settlement_pending_then_settled_with_its_time_in_its_detail_and_the_channel_results()
    {
        using var streamer = app.NewStreamer(out _);
        var channel = Requests.NewChannel();
        var resolved = await streamer.CreatePoolAsync(Requests.Pool(channel));
        await streamer.ActAsync(resolved.Id, "lock");
        await streamer.ActAsync(resolved.Id, "resolve", new { winningOutcomeIds = new[] { resolved.Outcomes[0].Id } });
        var cancelled = await streamer.CreatePoolAsync(Requests.Pool(channel));
        await streamer.ActAsync(cancelled.Id, "cancel");
        var live = await streamer.CreatePoolAsync(Requests.Pool(channel));
        using var player = app.Player();

        var before = await player.GetPoolAsync(resolved.Id);
        Assert.Equal(("resolved", "pending", (DateTimeOffset?)null), (before.State, before.Settlement, before.SettledAt));
        Assert.Null((await player.GetPoolAsync(live.Id)).Settlement);

        var settledAt = Microseconds(app.Clock.GetUtcNow());
        await app.PublishAsync(Settled(resolved.Id, settledAt));

        var after = before;
        Assert.True(await PoolsApp.EventuallyAsync(async () => (after = await player.GetPoolAsync(resolved.Id)).Settlement == "settled"),
            $"The pool's settlement is still '{after.Settlement}'.");
        Assert.Equal(("resolved", settledAt), (after.State, after.SettledAt));
        Assert.Equal(before.Version + 1, after.Version);

        // The streamer's (and anyone's) list of the channel's results: newest close first, each with its settlement.
        var finished = await player.GetFromJsonAsync<PoolJson[]>($"/api/pools/finished?channel=twitch:{channel}");
        Assert.Equal(
            [(cancelled.Id, "cancelled", "pending", (DateTimeOffset?)null), (resolved.Id, "resolved", "settled", settledAt)],
            finished!.Select(p => (p.Id, p.State, p.Settlement, p.SettledAt)));
    }

    [Fact]
    public async Task A_second_PoolSettled_for_the_same_pool_keeps_the_first_time_and_changes_nothing()
    {
        using var admin = app.Admin();
        var pool = await admin.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));
        await admin.ActAsync(pool.Id, "cancel");
        var first = Microseconds(app.Clock.GetUtcNow());
        await app.PublishAsync(Settled(pool.Id, first));
        Assert.True(await PoolsApp.EventuallyAsync(async () => (await admin.GetPoolAsync(pool.Id)).SettledAt == first));
        var marked = await admin.GetPoolAsync(pool.Id);

        // A settlement rerun publishes another PoolSettled (another event id); one for a pool this service lacks is ignored.
        var unknown = Guid.NewGuid();
        await app.PublishAsync(Settled(pool.Id, first.AddMinutes(5)), Settled(unknown, first.AddMinutes(5)));
        Assert.True(await PoolsApp.EventuallyAsync(async () => await app.ScalarAsync<long>("""
            SELECT count(*) FROM inbox WHERE event_id IN (
                SELECT (envelope->>'id')::uuid FROM test_outbox_audit WHERE event_type = 'streambets.settlement.pool-settled.v1' AND partition_key = ANY($1))
            """, (object)new[] { pool.Id.ToString(), unknown.ToString() }) == 3), "Not every PoolSettled was handled.");

        var again = await admin.GetPoolAsync(pool.Id);
        Assert.Equal((first, marked.Version, "settled"), (again.SettledAt, again.Version, again.Settlement));
        Assert.Equal(["open", "cancelled", "cancelled"], (await app.PoolWritesAsync(pool.Id)).Select(w => w.State));
    }

    [Theory]
    [InlineData("channel=nowhere", "channel")]
    [InlineData("channel=twitch:1&limit=0", "limit")]
    [InlineData("channel=twitch:1&limit=101", "limit")]
    public async Task The_channel_results_refuse_a_bad_query(string query, string field)
    {
        using var player = app.Player();

        await player.AssertInvalidAsync($"/api/pools/finished?{query}", field);
    }

    /// <summary>PostgreSQL keeps microseconds.</summary>
    private static DateTimeOffset Microseconds(DateTimeOffset time) => new(time.UtcTicks - time.UtcTicks % 10, TimeSpan.Zero);

    private static PoolSettled Settled(Guid poolId, DateTimeOffset settledAt) =>
        new(poolId, TotalMinor: 3_000, PaidOutMinor: 2_850, RakeMinor: 150, BreakageMinor: 0, WinningBets: 2, RefundedBets: 0, settledAt);
}
