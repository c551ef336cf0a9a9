using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
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

    /// <summary>More pools than one page of the sweeper's query (200): pools a whole page of which keeps failing.</summary>
    private const int MoreThanAPage = 201;

    [Fact]
    public async Task More_than_a_page_of_pools_that_keep_failing_to_lock_do_not_starve_a_pool_due_after_them()
    {
        var now = app.Clock.GetUtcNow();
        var stuck = await InsertPoolsAsync("open", MoreThanAPage, dueFrom: now - TimeSpan.FromHours(2));
        using var streamer = app.NewStreamer(out _);
        var healthy = await streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel(), window: 60));
        // Due after every stuck pool, and before this test's sweep.
        await using (await app.FailWritesAsync("UPDATE", "pools", $"NEW.title = '{stuck}'", "row is stuck"))
        {
            try
            {
                await app.ExecuteAsync($"UPDATE pools SET locks_at = locks_at - interval '1 hour', opened_at = opened_at - interval '1 hour' WHERE id = '{healthy.Id}'");

                await Sweeper().SweepAsync(CancellationToken.None);

                Assert.Equal("locked", (await streamer.GetPoolAsync(healthy.Id)).State);
                Assert.Equal(MoreThanAPage, await CountAsync($"SELECT count(*) FROM pools WHERE title = '{stuck}' AND state = 'open'"));
            }
            finally
            {
                await DeletePoolsAsync(stuck); // while they still cannot be locked: no sweep gets to them after this test
            }
        }
    }

    [Fact]
    public async Task More_than_a_page_of_pools_that_keep_failing_to_cancel_do_not_starve_a_pool_abandoned_after_them()
    {
        var now = app.Clock.GetUtcNow();
        var stuck = await InsertPoolsAsync("locked", MoreThanAPage, dueFrom: now - TimeSpan.FromHours(2));
        using var streamer = app.NewStreamer(out _);
        var healthy = await streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));
        await streamer.ActAsync(healthy.Id, "lock");
        await using (await app.FailWritesAsync("UPDATE", "pools", $"NEW.title = '{stuck}'", "row is stuck"))
        {
            try
            {
                // Locked 25 h ago on a 24 h term: abandoned an hour ago, after every stuck pool.
                await app.ExecuteAsync($"UPDATE pools SET locked_at = locked_at - interval '25 hours', abandons_at = abandons_at - interval '25 hours' WHERE id = '{healthy.Id}'");

                await Sweeper().SweepAsync(CancellationToken.None);

                var cancelled = await streamer.GetPoolAsync(healthy.Id);
                Assert.Equal("cancelled", cancelled.State);
                Assert.Equal("abandoned", cancelled.CancellationReason);
                Assert.Equal(MoreThanAPage, await CountAsync($"SELECT count(*) FROM pools WHERE title = '{stuck}' AND state = 'locked'"));
            }
            finally
            {
                await DeletePoolsAsync(stuck);
            }
        }
    }

    [Fact]
    public async Task The_overdue_gauges_count_and_age_pools_the_sweeper_has_not_locked_or_cancelled_and_read_zero_when_none()
    {
        // A poolsdb of its own: the app's is shared with every other test.
        var connectionString = await (await TestServers.PostgresAsync()).CreateDatabaseAsync("overdue-pools");
        await PostgresSchema.MigrateAsync(connectionString, typeof(PoolStore).Assembly);
        await using var database = NpgsqlDataSource.Create(connectionString);
        await using var metrics = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meters = metrics.GetRequiredService<IMeterFactory>();
        var clock = new FakeTimeProvider(app.Clock.GetUtcNow());
        var gauges = new OverduePoolsGauges(
            new PoolStore(database), new PoolsSettingsProvider(new DocumentStoreOutage { Answers = true }, clock, NullLogger<PoolsSettingsProvider>.Instance),
            clock, meters, NullLogger<OverduePoolsGauges>.Instance);
        using var recorded = RecordedGauges(meters);

        Assert.Empty(recorded.Observe()); // nothing before the first sample
        await gauges.SampleAsync(CancellationToken.None);
        Assert.Equal(new Dictionary<string, double>
        {
            ["streambets.pools.overdue_locks"] = 0,
            ["streambets.pools.overdue_locks_oldest_age"] = 0,
            ["streambets.pools.overdue_cancels"] = 0,
            ["streambets.pools.overdue_cancels_oldest_age"] = 0,
        }, recorded.Observe());

        var now = clock.GetUtcNow();
        await ExecuteAsync(database, $"""
            INSERT INTO pools (id, channel_provider, channel_id, created_by, title, betting_window, min_stake_minor, max_stake_minor,
                               rake_bps, state, exclusive, created_at, locks_at, locked_at, auto_cancel_after, abandons_at)
            SELECT gen_random_uuid(), 'twitch', 'c' || n, gen_random_uuid(), 'Who wins?', interval '60 seconds', 100, 10000, 500,
                   state, false, '{now:O}'::timestamptz - interval '2 days', '{now:O}'::timestamptz + locks_in, '{now:O}'::timestamptz + locked_in,
                   term, '{now:O}'::timestamptz + abandons_in
            FROM (VALUES
                (1, 'open',     interval '-5 minutes',  NULL::interval,      NULL::interval,     NULL::interval),     -- 5 min late to lock
                (2, 'open',     interval '-30 seconds', NULL,                NULL,               NULL),               -- due, not overdue yet
                (3, 'open',     interval '1 minute',    NULL,                NULL,               NULL),               -- not due
                (4, 'resolved', interval '-3 hours',    interval '-3 hours', NULL,               NULL),               -- finished
                (5, 'locked',   interval '-2 days',     interval '-2 days',  interval '24 hours', interval '-10 minutes'), -- 10 min late to cancel
                (6, 'locked',   interval '-1 hour',     interval '-1 hour',  interval '24 hours', interval '23 hours'),    -- not due
                (7, 'locked',   interval '-30 hours',   interval '-30 hours', NULL,               NULL)                -- no term of its own: 6 h late
            ) AS p(n, state, locks_in, locked_in, term, abandons_in)
            """);

        await gauges.SampleAsync(CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(10)); // the ages grow between samples; the counts stay as sampled
        var seen = recorded.Observe();
        Assert.Equal(1, seen["streambets.pools.overdue_locks"]);
        Assert.Equal(310, seen["streambets.pools.overdue_locks_oldest_age"], precision: 3);
        Assert.Equal(2, seen["streambets.pools.overdue_cancels"]);
        Assert.Equal(6 * 3600 + 10, seen["streambets.pools.overdue_cancels_oldest_age"], precision: 3);
    }

    /// <summary>A sweeper of this app's pools, as a second replica's: the test runs its sweeps itself.</summary>
    private PoolSweeper Sweeper() => new(
        app.Services.GetRequiredService<PoolStore>(), app.Services.GetRequiredService<PoolCommands>(),
        app.Services.GetRequiredService<PoolsSettingsProvider>(), app.Clock, NullLogger<PoolSweeper>.Instance);

    /// <summary>
    /// Pools in <paramref name="state"/> due (to lock when open, to cancel when locked) a millisecond apart from
    /// <paramref name="dueFrom"/>, each on a channel of its own with two outcomes; returns their title, theirs alone.
    /// </summary>
    private async Task<string> InsertPoolsAsync(string state, int count, DateTimeOffset dueFrom)
    {
        var title = $"stuck {Guid.NewGuid():N}";
        var due = $"'{dueFrom:O}'::timestamptz + g * interval '1 millisecond'";
        var (locksAt, lockedAt, abandonsAt) = state == "open"
            ? (due, "NULL::timestamptz", "NULL::timestamptz")
            : ($"'{dueFrom:O}'::timestamptz - interval '25 hours'", $"{due} - interval '24 hours'", due);
        await app.ExecuteAsync($"""
            WITH p AS (
                INSERT INTO pools (id, channel_provider, channel_id, created_by, title, betting_window, min_stake_minor, max_stake_minor,
                                   rake_bps, state, exclusive, created_at, opened_at, locks_at, locked_at, auto_cancel_after, abandons_at)
                SELECT gen_random_uuid(), 'twitch', 'stuck-' || gen_random_uuid(), gen_random_uuid(), '{title}', interval '60 seconds',
                       100, 10000, 500, '{state}', false, '{dueFrom:O}'::timestamptz - interval '2 days', '{dueFrom:O}'::timestamptz - interval '2 days',
                       {locksAt}, {lockedAt}, interval '24 hours', {abandonsAt}
                FROM generate_series(1, {count}) g
                RETURNING id)
            INSERT INTO pool_outcomes (id, pool_id, position, label)
            SELECT gen_random_uuid(), p.id, o.position, 'Outcome ' || o.position FROM p, generate_series(0, 1) AS o(position)
            """);
        return title;
    }

    private Task DeletePoolsAsync(string title) => app.ExecuteAsync($"""
        DELETE FROM pool_outcomes WHERE pool_id IN (SELECT id FROM pools WHERE title = '{title}');
        DELETE FROM pools WHERE title = '{title}';
        """);

    private async Task<long> CountAsync(string sql)
    {
        await using var database = NpgsqlDataSource.Create(app.ConnectionString);
        await using var command = database.CreateCommand(sql);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task ExecuteAsync(NpgsqlDataSource database, string sql)
    {
        await using var command = database.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>The overdue gauges of one meter factory's Pools meter (one sampler's), read on demand.</summary>
    private static ObservedGauges RecordedGauges(IMeterFactory meters) =>
        new(published => published.Meter.Scope == meters && published.Name.StartsWith("streambets.pools.overdue_", StringComparison.Ordinal));

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
