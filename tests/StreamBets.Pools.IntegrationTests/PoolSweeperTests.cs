using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using StreamBets.Pools.Configuration;
using StreamBets.Pools.Data;
using StreamBets.Pools.Documents;
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
    public async Task A_pool_locked_late_after_an_outage_gets_its_whole_term_from_that_lock_before_it_cancels_itself()
    {
        using var admin = app.Admin();
        var config = await admin.GetFromJsonAsync<Dictionary<string, object>>("/api/pools/admin/config");
        Assert.Equal(HttpStatusCode.OK, (await admin.PutConfigAsync(new SettingsJson(500, 100, 100_000, true, AutoCancelAfterHours: 1))).StatusCode);
        try
        {
            var pool = await admin.CreatePoolAsync(Requests.Pool(Requests.NewChannel(), window: 30));

            // Pools was down for 2 h: no sweep saw the window end, the first one after it sees 2 h gone at once.
            app.Clock.Advance(TimeSpan.FromHours(2));

            Assert.True(await PoolsApp.EventuallyAsync(async () => (await admin.GetPoolAsync(pool.Id)).State != "open"));
            await Task.Delay(1500); // a few more sweeps
            var locked = await admin.GetPoolAsync(pool.Id);
            Assert.Equal("locked", locked.State);
            Assert.Equal(pool.LocksAt, locked.LockedAt); // still dated when betting closed

            app.Clock.Advance(TimeSpan.FromMinutes(59));
            await Task.Delay(1500);
            Assert.Equal("locked", (await admin.GetPoolAsync(pool.Id)).State);

            app.Clock.Advance(TimeSpan.FromMinutes(1));

            Assert.True(await PoolsApp.EventuallyAsync(async () => (await admin.GetPoolAsync(pool.Id)).State == "cancelled"));
            Assert.Equal("abandoned", (await admin.GetPoolAsync(pool.Id)).CancellationReason);
            var cancelled = Assert.Single(await app.EventsAsync(pool.Id), e => e.Type == "streambets.pools.cancelled.v1");
            Assert.Equal("resolution-timeout", cancelled.Data.GetProperty("reason").GetString());
        }
        finally
        {
            await admin.PutConfigAsync(config!);
        }
    }

    [Fact]
    public async Task A_sweeper_with_no_configuration_in_force_warns_when_it_starts_and_then_once_a_minute_not_every_sweep()
    {
        var (sweeper, clock, _, logs) = SweeperWithoutConfiguration();
        int Warnings() => logs.Records.Count(r => r.EventName == "SweepWithoutConfiguration");

        for (var sweep = 0; sweep < 10; sweep++)
        {
            await sweeper.SweepAsync(CancellationToken.None);
            clock.Advance(PoolSweeper.Interval);
        }
        Assert.Equal(1, Warnings());

        clock.Advance(PoolSweeper.RepeatMissingConfigurationWarningAfter);
        await sweeper.SweepAsync(CancellationToken.None);
        await sweeper.SweepAsync(CancellationToken.None);
        Assert.Equal(2, Warnings());
    }

    [Fact]
    public async Task A_sweeper_says_once_when_a_configuration_is_in_force_again_and_warns_at_once_if_it_goes_again()
    {
        var (sweeper, clock, store, logs) = SweeperWithoutConfiguration();
        await sweeper.SweepAsync(CancellationToken.None);

        store.Answers = true;
        clock.Advance(PoolsSettingsProvider.CacheFor); // the provider asks the store again
        await sweeper.SweepAsync(CancellationToken.None);
        clock.Advance(PoolsSettingsProvider.CacheFor);
        await sweeper.SweepAsync(CancellationToken.None);

        Assert.Single(logs.Records, r => r.EventName == "SweepConfigurationBack");
        Assert.Single(logs.Records, r => r.EventName == "SweepWithoutConfiguration");
    }

    /// <summary>A sweeper of this app's pools on a clock of its own, on a replica started while the document store is down.</summary>
    private (PoolSweeper Sweeper, FakeTimeProvider Clock, DocumentStoreOutage Store, CollectedLogs Logs) SweeperWithoutConfiguration()
    {
        var logs = new CollectedLogs();
        var clock = new FakeTimeProvider(app.Clock.GetUtcNow());
        var store = new DocumentStoreOutage();
        var sweeper = new PoolSweeper(
            app.Services.GetRequiredService<PoolStore>(), app.Services.GetRequiredService<PoolCommands>(),
            new PoolsSettingsProvider(store, clock, NullLogger<PoolsSettingsProvider>.Instance),
            clock, new LoggerFactory([logs]).CreateLogger<PoolSweeper>());
        return (sweeper, clock, store, logs);
    }

    /// <summary>The pools configuration's store, which does not answer (as MongoDB in an outage) until it <see cref="Answers"/>; then it holds no document (the defaults).</summary>
    private sealed class DocumentStoreOutage : IDocumentStore
    {
        public bool Answers { get; set; }

        public Task<VersionedDocument<T>?> GetVersionedAsync<T>(string collection, string id, CancellationToken cancellationToken = default) where T : class =>
            Answers ? Task.FromResult<VersionedDocument<T>?>(null) : throw new TimeoutException("The document store does not answer.");

        public Task<T?> GetAsync<T>(string collection, string id, CancellationToken cancellationToken = default) where T : class => throw new NotSupportedException();

        public Task PutAsync<T>(string collection, string id, T document, CancellationToken cancellationToken = default) where T : class => throw new NotSupportedException();

        public Task<bool> TryPutAsync<T>(string collection, string id, T document, string? expectedVersion, CancellationToken cancellationToken = default)
            where T : class => throw new NotSupportedException();

        public Task<bool> DeleteAsync(string collection, string id, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<bool> TryDeleteAsync(string collection, string id, string expectedVersion, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public Task<IReadOnlyList<StoredDocument<T>>> ListAsync<T>(string collection, CancellationToken cancellationToken = default) where T : class =>
            throw new NotSupportedException();
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
