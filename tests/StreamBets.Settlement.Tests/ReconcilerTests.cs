using System.Diagnostics.Metrics;
using System.Net.Http.Json;
using System.Text.Json;
using Grpc.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using StackExchange.Redis;
using StreamBets.Contracts.Pools;
using StreamBets.Settlement.Data;
using StreamBets.Settlement.Payouts;
using StreamBets.Testing;
using PoolsClient = StreamBets.Contracts.Pools.Pools.PoolsClient;

namespace StreamBets.Settlement.Tests;

/// <summary>
/// A finished pool whose PoolResolved or PoolCancelled Settlement never received (dead-lettered, trimmed from its stream,
/// acknowledged unread) is found through Pools by the reconciler and settled; what Settlement already knows stays as it is.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class ReconcilerTests(SettlementStack stack)
{
    private const long Funds = 10_000;
    private const string PoolSettledType = "streambets.settlement.pool-settled.v1";

    /// <summary>What a run writes when it settles a pool without bets.</summary>
    private const string NoBetsSummary =
        "basis = 'no-stake-on-winner', bet_count = 0, total_minor = 0, paid_minor = 0, rake_minor = 0, breakage_minor = 0, winning_bets = 0, refunded_bets = 0";

    [Fact]
    public async Task A_resolved_pool_whose_event_never_arrived_is_settled_by_the_reconciler_once_it_is_old_enough_and_known_pools_are_left_alone()
    {
        await stack.StopSettlementAsync();
        var clock = new ShiftedClock();
        string[] known = [];
        try
        {
            // Finished while no Settlement ran, and then their events lost for Settlement: its consumer group skips them.
            var lost = await stack.NewPoolAsync();
            Assert.Equal(500, lost.RakeBasisPoints); // the figures below assume a 5 % rake
            var users = await stack.FundedUsersAsync(2, Funds);
            var bets = await stack.PlaceAsync(lost.Id, [(users[0], lost.Outcomes[0], 1_000), (users[1], lost.Outcomes[1], 1_000)]);
            await stack.LockAsync(lost.Id);
            await stack.ResolveAsync(lost.Id, lost.Outcomes[0]);
            var settled = await FinishedPoolAsync();
            var failed = await FinishedPoolAsync();
            var running = await FinishedPoolAsync();
            await LoseSettlementsPoolEventsAsync([lost.Id, settled, failed, running]);

            // What Settlement knows already about the other three, as written by earlier runs; none of it may change.
            var now = DateTimeOffset.UtcNow;
            await InsertSettlementAsync(settled, "settled", attempts: 1, lastError: null, nextAttemptAt: now, finishedAt: now);
            await InsertSettlementAsync(failed, "failed", attempts: 3, lastError: "payment-refused: test", nextAttemptAt: now, finishedAt: now);
            await InsertSettlementAsync(running, "running", attempts: 2, lastError: "bets-pending: test", nextAttemptAt: now.AddDays(1), finishedAt: null);
            await stack.SettlementScalarAsync($"UPDATE settlements SET {NoBetsSummary} WHERE pool_id = $1", settled);
            known = [.. new[] { settled, failed, running }.Select(id => id.ToString())];
            string[] untouched = [failed.ToString(), running.ToString()];
            var before = await RowsAsync(untouched);

            using var reconciled = new ReconciledCounter();
            stack.StartSettlement(services =>
            {
                services.AddSingleton<TimeProvider>(clock);
                services.Configure<SettlementOptions>(new ConfigurationBuilder()
                    .AddInMemoryCollection([new("ReconcileInterval", "00:00:00.200")]).Build());
            });

            // Several rounds while the pool finished less than ReconcileMinimumAge (10 min) ago: not recorded yet.
            await Task.Delay(TimeSpan.FromSeconds(1.5));
            Assert.Equal((null, null), await stack.StatusAsync(lost.Id));

            clock.Advance(TimeSpan.FromMinutes(11));
            await stack.WaitSettledAsync(lost.Id);

            // T = 2,000; rake = 100; net = 1,900, all to the only winner; breakage 0; escrow empty.
            var balances = await stack.BalancesAsync([$"user:{users[0]}", $"user:{users[1]}", lost.Escrow]);
            Assert.Equal([Funds - 1_000 + 1_900, Funds - 1_000, 0], [balances[$"user:{users[0]}"], balances[$"user:{users[1]}"], balances[lost.Escrow]]);
            Assert.Equal(
                [$"{bets[0].BetId} won 1900", $"{bets[1].BetId} lost 0"],
                await TextsAsync("SELECT concat_ws(' ', bet_id, result, payout_minor) FROM settled_bets WHERE pool_id = $1 ORDER BY payout_minor DESC", lost.Id));
            Assert.Equal("resolved", await TextAsync("SELECT kind FROM settlements WHERE pool_id = $1", lost.Id));
            Assert.True(reconciled.Total >= 1);
            await stack.AssertLedgerExactAsync();

            // The settled one, whose PoolSettled Pools never had, is announced again and Pools marks it paid out.
            await AssertPoolsShowsSettledAsync(settled);
            Assert.True(reconciled.Of(SettlementReconciler.ReannouncedKind) >= 1);

            // More rounds after that, and the failed and running settlements are exactly as they were.
            await Task.Delay(TimeSpan.FromSeconds(1));
            Assert.Equal(before, await RowsAsync(untouched));
        }
        finally
        {
            await stack.StopSettlementAsync();
            // Leave no hand-made failed or waiting settlement behind for the backlog gauges of other tests.
            // Each with the summary a run would have written, as a reconciler of a later test may announce them again.
            await stack.SettlementScalarAsync($"""
                WITH done AS (
                    UPDATE settlements SET status = 'settled', next_attempt_at = now(), finished_at = coalesce(finished_at, now()), {NoBetsSummary}
                    WHERE pool_id::text = ANY($1) RETURNING 1)
                SELECT count(*) FROM done
                """, (object)known);
            stack.StartSettlement();
        }
    }

    [Fact]
    public async Task A_settled_pool_whose_PoolSettled_Pools_never_applied_is_announced_again_once_per_minimum_age()
    {
        var pool = await stack.NewPoolAsync();
        var users = await stack.FundedUsersAsync(2, Funds);
        await stack.PlaceAsync(pool.Id, [(users[0], pool.Outcomes[0], 1_000), (users[1], pool.Outcomes[1], 1_000)]);
        await stack.LockAsync(pool.Id);
        await stack.ResolveAsync(pool.Id, pool.Outcomes[0]);
        await stack.WaitSettledAsync(pool.Id);
        await AssertPoolsShowsSettledAsync(pool.Id);
        var original = Assert.Single((await stack.PublishedAsync(PoolSettledType, pool.Id)).DistinctBy(e => e.Id));
        var settledRow = (await stack.Settlement.Services.GetRequiredService<SettlementStore>().FindAsync(pool.Id, default))!;

        // What a PoolSettled lost on the bus leaves: Pools still paying out, and listing the pool as unsettled.
        await using (var lose = stack.PoolsDb.CreateCommand("UPDATE pools SET settled_at = NULL WHERE id = $1"))
        {
            lose.Parameters.Add(new NpgsqlParameter { Value = pool.Id });
            Assert.Equal(1, await lose.ExecuteNonQueryAsync());
        }
        var clock = new ShiftedClock();
        var logs = new CollectedLogs();
        using var reconciled = new ReconciledCounter();
        var listed = Listed(pool.Id, PoolState.Resolved, settledRow.CreatedAt);
        SettlementReconciler Replica() => ReconcilerListing(logs, clock, listed);
        IEnumerable<LogRecord> Reannounced() => logs.Records.Where(r => r.EventName == "PoolSettledReannounced");

        // Settled less than ReconcileMinimumAge (10 min) ago: as likely a Pools consumer behind as a lost event.
        await Replica().ReconcileAsync(default);
        Assert.Empty(Reannounced());

        // Past it, two replicas at once: one PoolSettled, the same as the first, and Pools marks the pool paid out again.
        clock.Advance(TimeSpan.FromMinutes(11));
        await Task.WhenAll(Replica().ReconcileAsync(default), Replica().ReconcileAsync(default));
        var reannounced = Assert.Single(Reannounced());
        Assert.Equal((LogLevel.Warning, (object?)pool.Id), (reannounced.Level, reannounced["PoolId"]));
        Assert.Equal(1, reconciled.Of(SettlementReconciler.ReannouncedKind));
        await AssertPoolsShowsSettledAsync(pool.Id);
        List<PublishedEvent> published = [];
        Assert.True(await Eventually.HoldsAsync(async () =>
            (published = [.. (await stack.PublishedAsync(PoolSettledType, pool.Id)).DistinctBy(e => e.Id)]).Count == 2, TimeSpan.FromSeconds(15)),
            $"{published.Count} distinct PoolSettled published.");
        var again = published.Single(e => e.Id != original.Id).Data;
        foreach (var field in new[] { "totalMinor", "paidOutMinor", "rakeMinor", "breakageMinor", "winningBets", "refundedBets" })
        {
            Assert.Equal(original.Data.GetProperty(field).GetInt64(), again.GetProperty(field).GetInt64());
        }
        Assert.Equal(1_900, again.GetProperty("paidOutMinor").GetInt64());
        Assert.Equal(settledRow.FinishedAt, again.GetProperty("settledAt").GetDateTimeOffset());

        // Lost again at once, or a round later: nothing more until another ReconcileMinimumAge has passed, and then not
        // until it has been as long again since it was last announced (11 min): a Pools consumer stalled for hours gets a
        // few, 10, 20, 40 min... after settling, not one per minimum age.
        clock.Advance(TimeSpan.FromMinutes(5));
        await Replica().ReconcileAsync(default);
        clock.Advance(TimeSpan.FromMinutes(5)); // 10 min since it was announced again
        await Replica().ReconcileAsync(default);
        Assert.Single(Reannounced());
        Assert.Equal(1, reconciled.Of(SettlementReconciler.ReannouncedKind));
        clock.Advance(TimeSpan.FromMinutes(3)); // 13 min since
        await Replica().ReconcileAsync(default);
        Assert.Equal(2, Reannounced().Count());
        Assert.Equal("settled", (await stack.StatusAsync(pool.Id)).Status);
    }

    [Fact]
    public async Task A_pool_the_reconciler_records_has_waited_since_its_pool_finished_not_since_the_round_found_it()
    {
        // Its event was lost; the reconciler finds it 25 minutes after it finished. Another pool's close time is ahead of
        // Settlement's clock (Pools' clock runs fast): it counts as finished now, never in the future.
        var (lost, closedAhead) = (Guid.NewGuid(), Guid.NewGuid());
        var finishedAt = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 25 * 60);
        var logs = new CollectedLogs();
        await OnPoolsNoWorkerRunsAsync([lost, closedAhead], async store =>
        {
            var before = DateTimeOffset.UtcNow.AddMilliseconds(-1);
            await ReconcilerListing(logs, Listed(lost, PoolState.Resolved, finishedAt), Listed(closedAhead, PoolState.Cancelled, DateTimeOffset.UtcNow.AddHours(1)))
                .ReconcileAsync(default);
            var after = DateTimeOffset.UtcNow;

            Assert.Equal(finishedAt, (await store.FindAsync(lost, default))!.CreatedAt);
            Assert.InRange((await store.FindAsync(closedAhead, default))!.CreatedAt, before, after);
            // The payout-delay alert sees the 25 minutes the pool's winners have waited.
            await stack.Settlement.Services.GetRequiredService<SettlementBacklog>().ReportAsync(default);
            Assert.True(SettlementMetrics.Gauges()["streambets.settlement.oldest_waiting_age"] >= 25 * 60,
                $"oldest age {SettlementMetrics.Gauges()["streambets.settlement.oldest_waiting_age"]} s");
        });
    }

    [Fact]
    public async Task A_pool_listed_in_a_state_Settlement_does_not_know_is_skipped_and_the_pools_after_it_are_recorded()
    {
        // A newer Pools mid-deploy, or a bad row: one pool of the page is neither resolved nor cancelled.
        var (first, unknown, last) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        var finishedAt = DateTimeOffset.UtcNow.AddMinutes(-20);
        var logs = new CollectedLogs();
        await OnPoolsNoWorkerRunsAsync([first, unknown, last], async store =>
        {
            await ReconcilerListing(logs,
                Listed(first, PoolState.Resolved, finishedAt), Listed(unknown, PoolState.Unspecified, finishedAt), Listed(last, PoolState.Cancelled, finishedAt))
                .ReconcileAsync(default);

            Assert.Equal(("due", SettlementKinds.Resolved), await StatusAndKindAsync(store, first));
            Assert.Null(await store.FindAsync(unknown, default));
            Assert.Equal(("due", SettlementKinds.Cancelled), await StatusAndKindAsync(store, last));
            var skipped = Assert.Single(logs.Records, r => r.EventName == "SettlementReconcileUnknownState");
            Assert.Equal((LogLevel.Warning, unknown.ToString(), "Unspecified"), (skipped.Level, skipped["PoolId"], skipped["State"]));
        });
    }

    private static async Task<(string, string)> StatusAndKindAsync(SettlementStore store, Guid poolId) =>
        await store.FindAsync(poolId, default) is { } settlement ? (settlement.Status, settlement.Kind) : throw new Xunit.Sdk.XunitException($"Pool {poolId} was not recorded.");

    /// <summary>
    /// Runs <paramref name="test"/> with the run locks of these pools (which Pools does not know) held by a session of the
    /// test, so no worker touches them, and deletes their settlements afterwards.
    /// </summary>
    private async Task OnPoolsNoWorkerRunsAsync(Guid[] poolIds, Func<SettlementStore, Task> test)
    {
        await using var runs = await stack.OpenSessionAsync();
        foreach (var poolId in poolIds)
        {
            await SettlementStack.RunLockAsync(runs, "pg_advisory_lock", poolId);
        }
        try
        {
            await test(stack.Settlement.Services.GetRequiredService<SettlementStore>());
        }
        finally
        {
            await stack.SettlementScalarAsync("DELETE FROM settlements WHERE pool_id = ANY($1)", poolIds);
        }
    }

    /// <summary>A reconciler on the stack's settlementdb to which Pools answers this one page.</summary>
    private SettlementReconciler ReconcilerListing(CollectedLogs logs, params UnsettledPool[] page) => ReconcilerListing(logs, TimeProvider.System, page);

    private SettlementReconciler ReconcilerListing(CollectedLogs logs, TimeProvider time, params UnsettledPool[] page) =>
        new(new OnePageOfPools(page), stack.Settlement.Services.GetRequiredService<SettlementStore>(), new SettlementWorkerSignal(), time,
            Options.Create(new SettlementOptions()), new Logger<SettlementReconciler>(new LoggerFactory([logs])));

    /// <summary>Waits until Pools shows the pool paid out (it applied a PoolSettled).</summary>
    private async Task AssertPoolsShowsSettledAsync(Guid poolId) =>
        Assert.True(await Eventually.HoldsAsync(async () =>
            (await stack.PoolsHttp.GetFromJsonAsync<JsonElement>($"/api/pools/{poolId}")).GetProperty("settlement").GetString() == "settled",
            TimeSpan.FromSeconds(15)), $"Pools never showed pool {poolId} settled.");

    private static UnsettledPool Listed(Guid poolId, PoolState state, DateTimeOffset closedAt) =>
        new() { PoolId = poolId.ToString(), State = state, ClosedAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(closedAt) };

    private sealed class OnePageOfPools(UnsettledPool[] page) : PoolsClient
    {
        public override AsyncUnaryCall<ListUnsettledPoolsResponse> ListUnsettledPoolsAsync(ListUnsettledPoolsRequest request, CallOptions options) =>
            new(Task.FromResult(new ListUnsettledPoolsResponse { Pools = { page } }), Task.FromResult(new Metadata()), () => Status.DefaultSuccess, () => [], () => { });
    }

    /// <summary>A pool resolved with no bets.</summary>
    private async Task<Guid> FinishedPoolAsync()
    {
        var pool = await stack.NewPoolAsync();
        await stack.LockAsync(pool.Id);
        await stack.ResolveAsync(pool.Id, pool.Outcomes[0]);
        return pool.Id;
    }

    /// <summary>
    /// Once the pools' PoolResolved are on the bus, moves Settlement's consumer group past every event of the pools topic,
    /// as an acknowledgement without a read (or a trim) would: Settlement never handles them.
    /// </summary>
    private async Task LoseSettlementsPoolEventsAsync(Guid[] pools)
    {
        Assert.True(await Eventually.HoldsAsync(async () =>
        {
            var published = await PublishedEvents.ReadAsync(stack.Redis, stack.BusPrefix, "pools", "streambets.pools.resolved.v1",
                data => pools.Contains(data.GetProperty("poolId").GetGuid()));
            return published.Select(e => e.Data.GetProperty("poolId").GetGuid()).Distinct().Count() == pools.Length;
        }, TimeSpan.FromSeconds(20)), "The pools' PoolResolved events were not published.");

        for (var partition = 0; partition < 16; partition++)
        {
            var stream = $"{stack.BusPrefix}:pools:{partition}";
            try
            {
                await stack.Redis.ExecuteAsync("XGROUP", "CREATE", stream, "settlement", "$", "MKSTREAM");
            }
            catch (RedisServerException e) when (e.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
            {
                await stack.Redis.ExecuteAsync("XGROUP", "SETID", stream, "settlement", "$");
            }
        }
    }

    private async Task InsertSettlementAsync(Guid poolId, string status, int attempts, string? lastError, DateTimeOffset nextAttemptAt, DateTimeOffset? finishedAt)
    {
        await using var command = stack.SettlementDb.CreateCommand("""
            INSERT INTO settlements (pool_id, kind, status, created_at, updated_at, next_attempt_at, attempts, last_error, finished_at)
            VALUES ($1, 'resolved', $2, $3, $3, $4, $5, $6, $7)
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = poolId });
        command.Parameters.Add(new NpgsqlParameter { Value = status });
        command.Parameters.Add(new NpgsqlParameter { Value = DateTimeOffset.UtcNow.AddMinutes(-30) });
        command.Parameters.Add(new NpgsqlParameter { Value = nextAttemptAt });
        command.Parameters.Add(new NpgsqlParameter { Value = attempts });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)lastError ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)finishedAt ?? DBNull.Value });
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>The whole rows, as text, in pool order.</summary>
    private async Task<List<string>> RowsAsync(string[] poolIds)
    {
        await using var command = stack.SettlementDb.CreateCommand("SELECT row_to_json(s)::text FROM settlements s WHERE pool_id::text = ANY($1) ORDER BY pool_id");
        command.Parameters.Add(new NpgsqlParameter { Value = poolIds });
        var rows = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(reader.GetString(0));
        }
        Assert.Equal(poolIds.Length, rows.Count);
        return rows;
    }

    private async Task<string?> TextAsync(string sql, Guid poolId) => (await TextsAsync(sql, poolId)).SingleOrDefault();

    private async Task<List<string>> TextsAsync(string sql, Guid poolId)
    {
        await using var command = stack.SettlementDb.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter { Value = poolId });
        var texts = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            texts.Add(reader.GetString(0));
        }
        return texts;
    }

    /// <summary>The system clock moved forward by hand; timers keep real time, so the host's loops run as usual.</summary>
    private sealed class ShiftedClock : TimeProvider
    {
        private long _offsetTicks;

        public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);

        public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));
    }

    /// <summary>What the streambets.settlement.reconciled counter counts while it listens.</summary>
    private sealed class ReconciledCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _byKind = new();
        private long _total;

        public ReconciledCounter()
        {
            _listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == SettlementTelemetry.Name && instrument.Name == "streambets.settlement.reconciled")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                Interlocked.Add(ref _total, value);
                foreach (var tag in tags)
                {
                    if (tag is { Key: "kind", Value: string kind })
                    {
                        _byKind.AddOrUpdate(kind, value, (_, sum) => sum + value);
                    }
                }
            });
            _listener.Start();
        }

        public long Total => Interlocked.Read(ref _total);

        public long Of(string kind) => _byKind.GetValueOrDefault(kind);

        public void Dispose() => _listener.Dispose();
    }
}
