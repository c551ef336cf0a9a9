using System.Net;
using System.Net.Http.Json;
using StreamBets.Pools.Management;
using StreamBets.Testing;

namespace StreamBets.Pools.IntegrationTests;

/// <summary>The sweeper locks pools whose window ended and cancels pools left locked too long, driven only by the clock.</summary>
public sealed class PoolSweeperTests(PoolsApp app) : IClassFixture<PoolsApp>
{
    [Fact]
    public async Task An_open_pool_locks_itself_when_its_window_ends_dated_at_the_window_end()
    {
        using var streamer = app.NewStreamer(out _);
        var pool = await streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel(), window: 60));

        app.Clock.Advance(TimeSpan.FromSeconds(61));

        Assert.True(await PoolsApp.EventuallyAsync(async () => (await streamer.GetPoolAsync(pool.Id)).State == "locked"));
        var locked = await streamer.GetPoolAsync(pool.Id);
        Assert.Equal(pool.LocksAt, locked.LockedAt);
        Assert.False(locked.BettingOpen);
        var lockedEvent = Assert.Single(await app.EventsAsync(pool.Id), e => e.Type == "streambets.pools.locked.v1");
        Assert.Equal(pool.LocksAt, lockedEvent.Data.GetProperty("lockedAt").GetDateTimeOffset());
    }

    [Fact]
    public async Task An_automatic_lock_is_a_trace_of_its_own_that_PoolLocked_continues()
    {
        using var sweeps = new RecordedActivities(PoolSweeper.ActivitySource.Name);
        using var streamer = app.NewStreamer(out _);
        var pool = await streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel(), window: 60));

        app.Clock.Advance(TimeSpan.FromSeconds(61));

        Assert.True(await PoolsApp.EventuallyAsync(async () => (await streamer.GetPoolAsync(pool.Id)).State == "locked"));
        // The lock is visible as soon as it commits; its activity stops a moment later, when the sweep's step returns.
        bool SweptThisPool(System.Diagnostics.Activity a) => a.GetTagItem("streambets.pool_id") is Guid id && id == pool.Id;
        Assert.True(await PoolsApp.EventuallyAsync(() => Task.FromResult(sweeps.Stopped.Any(SweptThisPool))), "The sweep's activity never stopped.");
        var sweep = Assert.Single(sweeps.Stopped, SweptThisPool);
        Assert.Equal("lock pool at window end", sweep.DisplayName);
        var locked = Assert.Single(await app.EventsAsync(pool.Id), e => e.Type == "streambets.pools.locked.v1");
        Assert.Equal(sweep.TraceId.ToString(), locked.TraceParent?.Split('-')[1]);
    }

    [Fact]
    public async Task A_pool_that_cannot_be_locked_holds_up_no_other_pool()
    {
        using var streamer = app.NewStreamer(out _);
        var stuck = await streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel(), window: 60));
        var next = await streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel(), window: 61));
        // The first pool due fails every time it is saved (a persistent database error on its row).
        await using (await app.FailWritesAsync("UPDATE", "pools", $"NEW.id = '{stuck.Id}'", "row is stuck"))
        {
            app.Clock.Advance(TimeSpan.FromSeconds(62));

            Assert.True(await PoolsApp.EventuallyAsync(async () => (await streamer.GetPoolAsync(next.Id)).State == "locked"),
                "The pool due after the stuck one was never locked.");
            Assert.Equal("open", (await streamer.GetPoolAsync(stuck.Id)).State);
        }
        Assert.True(await PoolsApp.EventuallyAsync(async () => (await streamer.GetPoolAsync(stuck.Id)).State == "locked"));
    }

    [Fact]
    public async Task A_pool_left_locked_for_24_hours_cancels_itself_as_a_resolution_timeout()
    {
        using var streamer = app.NewStreamer(out _);
        var pool = await streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));
        await streamer.ActAsync(pool.Id, "lock");

        app.Clock.Advance(TimeSpan.FromHours(23));
        await Task.Delay(1500); // a few sweeps: not yet due
        Assert.Equal("locked", (await streamer.GetPoolAsync(pool.Id)).State);

        app.Clock.Advance(TimeSpan.FromHours(1));

        Assert.True(await PoolsApp.EventuallyAsync(async () => (await streamer.GetPoolAsync(pool.Id)).State == "cancelled"));
        Assert.Equal("abandoned", (await streamer.GetPoolAsync(pool.Id)).CancellationReason);
        var cancelled = Assert.Single(await app.EventsAsync(pool.Id), e => e.Type == "streambets.pools.cancelled.v1");
        Assert.Equal("resolution-timeout", cancelled.Data.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task The_configured_patience_applies_at_run_time()
    {
        using var admin = app.Admin();
        var config = await admin.GetFromJsonAsync<Dictionary<string, object>>("/api/pools/admin/config");
        var put = await admin.PutConfigAsync(new SettingsJson(500, 100, 100_000, true, AutoCancelAfterHours: 2));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        try
        {
            var pool = await admin.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));
            await admin.ActAsync(pool.Id, "lock");

            app.Clock.Advance(TimeSpan.FromHours(2));

            Assert.True(await PoolsApp.EventuallyAsync(async () => (await admin.GetPoolAsync(pool.Id)).State == "cancelled"));
        }
        finally
        {
            await admin.PutConfigAsync(config!);
        }
    }

    [Fact]
    public async Task Resolving_a_pool_whose_window_ended_before_the_sweeper_ran_locks_and_resolves_it_together()
    {
        using var streamer = app.NewStreamer(out _);
        var pool = await streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel(), window: 30));
        await app.ExecuteAsync($"UPDATE pools SET locks_at = locks_at - interval '1 hour', opened_at = opened_at - interval '1 hour' WHERE id = '{pool.Id}'");

        // The sweeper may get there first; either way the pool ends resolved with exactly one lock and one resolution.
        var resolved = await streamer.ActAsync(pool.Id, "resolve", new { winningOutcomeIds = new[] { pool.Outcomes[0].Id } });

        Assert.Equal(HttpStatusCode.OK, resolved.StatusCode);
        var events = (await app.EventsAsync(pool.Id)).Select(e => e.Type).ToArray();
        Assert.Equal(["streambets.pools.created.v1", "streambets.pools.opened.v1", "streambets.pools.locked.v1", "streambets.pools.resolved.v1"], events);
    }
}
