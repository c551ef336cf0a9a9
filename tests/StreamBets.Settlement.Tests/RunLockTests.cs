using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.ClientFactory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using StreamBets.Settlement.Data;
using StreamBets.Settlement.Payouts;
using StreamBets.Testing;
using BetEngineClient = StreamBets.Contracts.Bets.BetEngine.BetEngineClient;

namespace StreamBets.Settlement.Tests;

/// <summary>
/// Run locks held by a session that runs nothing: a vanished host's, which PostgreSQL keeps (with its locks) until TCP
/// keepalive gives up, about 2 h by Linux defaults. The pools it holds wait without holding back any other, and say why.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class RunLockTests(SettlementStack stack)
{
    private const long Funds = 10_000;

    /// <summary>
    /// Pool ids whose <c>hashtext(id::text)</c> is negative (sixteen) or positive (two). pg_locks shows the lock's key as
    /// an unsigned oid, so the sign is where a wrong comparison would miss a held lock; the test checks the signs first.
    /// </summary>
    private static readonly Guid[] NegativeHashPools = [.. new[] { 1, 2, 3, 4, 8, 9, 14, 15, 19, 20, 22, 23, 25, 28, 30, 31 }.Select(FixedPoolId)];
    private static readonly Guid[] PositiveHashPools = [FixedPoolId(5), FixedPoolId(6)];

    [Fact]
    public async Task Sixteen_pools_locked_by_a_lost_session_do_not_hold_back_a_newer_due_pool()
    {
        // A vanished host's session still holds the run locks of 18 running settlements, the longest-waiting of all:
        // sixteen whose lock key is negative as an int4, so a poll that failed to skip those would find nothing to run.
        Guid[] locked = [.. NegativeHashPools, .. PositiveHashPools];
        Assert.Equal((16L, 2L), (
            await stack.SettlementScalarAsync("SELECT count(*) FROM unnest($1::uuid[]) id WHERE hashtext(id::text) < 0", locked),
            await stack.SettlementScalarAsync("SELECT count(*) FROM unnest($1::uuid[]) id WHERE hashtext(id::text) > 0", locked)));
        await using var lostHost = await stack.OpenSessionAsync();
        foreach (var poolId in locked)
        {
            await SettlementStack.RunLockAsync(lostHost, "pg_advisory_lock", poolId);
        }
        await stack.SettlementScalarAsync("""
            INSERT INTO settlements (pool_id, kind, status, created_at, updated_at, next_attempt_at, attempts, started_at)
            SELECT id, 'resolved', 'running', now() - interval '1 hour', now() - interval '1 hour', now() - interval '1 hour', 1, now() - interval '1 hour'
            FROM unnest($1::uuid[]) AS id
            """, locked);
        try
        {
            // The plain candidates are all locked ones; looking past held locks leaves every one of them out.
            var store = stack.Settlement.Services.GetRequiredService<SettlementStore>();
            var plain = await store.RunnableAsync(DateTimeOffset.UtcNow, 16, skipHeldLocks: false, default);
            Assert.Equal(16, plain.Intersect(locked).Count());
            var pastHeldLocks = await store.RunnableAsync(DateTimeOffset.UtcNow, 16, skipHeldLocks: true, default);
            Assert.Empty(pastHeldLocks.Intersect(locked));

            var pool = await stack.NewPoolAsync();
            var users = await stack.FundedUsersAsync(2, Funds);
            await stack.PlaceAsync(pool.Id, [(users[0], pool.Outcomes[0], 1_000), (users[1], pool.Outcomes[1], 1_000)]);

            await stack.LockAsync(pool.Id);
            await stack.ResolveAsync(pool.Id, pool.Outcomes[0]);
            await stack.WaitSettledAsync(pool.Id, TimeSpan.FromSeconds(20));

            // T = 2,000; rake 100; the one winner gets 1,900.
            var balances = await stack.BalancesAsync([.. users.Select(u => $"user:{u}"), pool.Escrow]);
            Assert.Equal([Funds - 1_000 + 1_900, Funds - 1_000, 0], [balances[$"user:{users[0]}"], balances[$"user:{users[1]}"], balances[pool.Escrow]]);
            // Nobody took the lost session's locks: its pools were never started again.
            Assert.Equal(18, await stack.SettlementScalarAsync("SELECT count(*) FROM settlements WHERE pool_id = ANY($1) AND status = 'running' AND attempts = 1", locked));
            await stack.AssertLedgerExactAsync();
        }
        finally
        {
            // Gone before the locks are, so no worker runs these pools that never existed.
            await stack.SettlementScalarAsync("DELETE FROM settlements WHERE pool_id = ANY($1)", locked);
        }
    }

    [Fact]
    public async Task A_run_that_lost_its_lock_cannot_stop_or_reschedule_the_run_that_took_the_pool_over()
    {
        // A run started as attempt 1; its lock session died (a failover) and another replica's run took the pool over as
        // attempt 2. The first run's late outcome must leave the live one alone.
        var poolId = Guid.NewGuid();
        await using var liveRun = await stack.OpenSessionAsync();
        await SettlementStack.RunLockAsync(liveRun, "pg_advisory_lock", poolId); // no worker here touches the pool
        await stack.SettlementScalarAsync("""
            INSERT INTO settlements (pool_id, kind, status, created_at, updated_at, next_attempt_at, attempts, started_at)
            VALUES ($1, 'resolved', 'running', now(), now(), now(), 2, now())
            """, poolId);
        try
        {
            var store = stack.Settlement.Services.GetRequiredService<SettlementStore>();
            Assert.False(await store.RetryLaterAsync(poolId, attempt: 1, "bets-pending: late", DateTimeOffset.UtcNow.AddHours(1), DateTimeOffset.UtcNow, default));
            Assert.False(await store.FailAsync(poolId, attempt: 1, "payment-refused: late", DateTimeOffset.UtcNow, default));

            Assert.Equal<(string?, string?)>(("running", null), await stack.StatusAsync(poolId));

            Assert.True(await store.FailAsync(poolId, attempt: 2, "payment-refused: its own", DateTimeOffset.UtcNow, default));
            Assert.Equal("failed", (await stack.StatusAsync(poolId)).Status);
        }
        finally
        {
            await stack.SettlementScalarAsync("DELETE FROM settlements WHERE pool_id = $1", poolId);
        }
    }

    [Fact]
    public async Task A_run_refused_after_a_newer_attempt_took_its_pool_over_neither_fails_the_pool_nor_pages_anyone()
    {
        var pool = await stack.NewPoolAsync();
        using var failures = new TaggedCounter("streambets.settlement.failures", "reason", pool.Id);
        using var runs = new TaggedCounter("streambets.settlement.runs", "outcome", pool.Id);
        var logs = new CollectedLogs();
        // Run 1 waits in its first Bet Engine call until the takeover, then gets a refusal no retry fixes.
        var refusal = new FirstStreamRefusedWhenLetGo();
        await stack.StopSettlementAsync();
        stack.StartSettlement(services =>
        {
            services.Configure<GrpcClientFactoryOptions>(nameof(BetEngineClient),
                o => o.InterceptorRegistrations.Add(new InterceptorRegistration(InterceptorScope.Client, _ => refusal)));
            services.AddSingleton<ILoggerProvider>(logs);
        });
        await using var takeover = await stack.OpenSessionAsync();
        try
        {
            await stack.LockAsync(pool.Id);
            await stack.CancelAsync(pool.Id);
            await refusal.Waiting.WaitAsync(TimeSpan.FromSeconds(20));

            // Run 1's lock session dies (a failover) and another replica's run takes the pool over as attempt 2.
            await using (var terminate = new NpgsqlCommand("""
                SELECT count(pg_terminate_backend(l.pid)) FROM pg_locks l
                WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1 AND l.objid = hashtext($2)::oid AND l.objsubid = 2
                  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                """, takeover))
            {
                terminate.Parameters.Add(new NpgsqlParameter<int> { TypedValue = SettlementWorker.RunLockClass });
                terminate.Parameters.Add(new NpgsqlParameter<string> { TypedValue = pool.Id.ToString() });
                Assert.Equal(1L, await terminate.ExecuteScalarAsync());
            }
            await SettlementStack.RunLockAsync(takeover, "pg_advisory_lock", pool.Id);
            var store = stack.Settlement.Services.GetRequiredService<SettlementStore>();
            var attempt2 = await store.StartAsync(pool.Id, DateTimeOffset.UtcNow, default);
            Assert.Equal(("running", 2), (attempt2!.Status, attempt2.Attempts));

            refusal.LetGo();
            Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(logs.Records.Any(r => r.EventName is "SettlementRunSuperseded" or "SettlementFailed")),
                TimeSpan.FromSeconds(20)), "Run 1 never ended.");

            // Nothing written: the row is as attempt 2 left it. Nothing logged as a failure, nothing counted.
            Assert.Equal(attempt2, await store.FindAsync(pool.Id, default));
            Assert.DoesNotContain(logs.Records, r => r.EventName is "SettlementFailed" or "SettlementRetry");
            var superseded = Assert.Single(logs.Records, r => r.EventName == "SettlementRunSuperseded");
            Assert.Equal((LogLevel.Warning, (object?)pool.Id, (object?)1, (object?)"grpc-invalidargument"),
                (superseded.Level, superseded["PoolId"], superseded["Attempt"], superseded["Reason"]));
            Assert.Equal((0L, 0L, 0L), (failures.Sum("grpc-invalidargument"), runs.Sum("failed"), runs.Sum("retry")));
        }
        finally
        {
            refusal.LetGo();
            await stack.StopSettlementAsync();
            stack.StartSettlement();
        }

        // Attempt 2's replica goes too; the pool settles on the next run.
        await SettlementStack.RunLockAsync(takeover, "pg_advisory_unlock", pool.Id);
        await stack.WaitSettledAsync(pool.Id);
        await stack.AssertLedgerExactAsync();
    }

    [Fact]
    public async Task A_run_from_before_a_requeue_cannot_stop_or_reschedule_the_run_after_it()
    {
        // Run A started as attempt 1 and lost its lock session; run B took the pool over as attempt 2 and failed for good;
        // an operator requeued it and run C is live. A's late outcome must leave C alone: C's number is not A's.
        await OnDuePoolAsync(async (poolId, store, now) =>
        {
            var runA = await store.StartAsync(poolId, now, default);
            var runB = await store.StartAsync(poolId, now, default);
            Assert.Equal((1, 2), (runA!.Attempts, runB!.Attempts));
            await store.FailAsync(poolId, runB.Attempts, "payment-refused: run B", now, default);
            Assert.True(await store.RequeueAsync(poolId, now, default));
            var runC = await store.StartAsync(poolId, now, default);
            Assert.NotNull(runC);

            await store.RetryLaterAsync(poolId, runA.Attempts, "database: run A, late", now.AddHours(1), now.AddMinutes(1), default);
            await store.FailAsync(poolId, runA.Attempts, "payment-refused: run A, late", now.AddMinutes(1), default);

            // Neither write touched the row: it is just as run C's start left it, running as attempt 3.
            Assert.Equal(runC, await store.FindAsync(poolId, default));
            Assert.Equal(("running", 3), (runC.Status, runC.Attempts));

            // C's own retry still goes through.
            await store.RetryLaterAsync(poolId, runC.Attempts, "database: run C", now.AddMinutes(5), now.AddMinutes(2), default);
            Assert.Equal<(string?, string?)>(("running", "database: run C"), await stack.StatusAsync(poolId));
        });
    }

    [Fact]
    public async Task A_failed_runs_outcome_written_again_after_a_requeue_leaves_the_requeue_in_force()
    {
        // Run A failed for good and wrote so; the answer to its COMMIT was lost, so it writes it again (its outcome writes
        // are retried) after an operator, seeing "failed", requeued the pool. The requeue must stand.
        await OnDuePoolAsync(async (poolId, store, now) =>
        {
            var runA = await store.StartAsync(poolId, now, default);
            await store.FailAsync(poolId, runA!.Attempts, "payment-refused: run A", now, default);
            Assert.True(await store.RequeueAsync(poolId, now.AddMinutes(1), default));
            var requeued = await store.FindAsync(poolId, default);

            // Still true: run A's failure is recorded (by its first write), so it is logged and counted as a failure.
            Assert.True(await store.FailAsync(poolId, runA.Attempts, "payment-refused: run A", now.AddMinutes(2), default));

            Assert.Equal(requeued, await store.FindAsync(poolId, default));
            Assert.Equal("due", requeued!.Status);
        });
    }

    [Fact]
    public async Task A_pool_due_for_an_hour_whose_lock_a_worker_has_just_taken_is_not_called_stuck()
    {
        // After an outage a pool has been due for an hour; a worker has just taken its run lock and not started it yet.
        var poolId = Guid.NewGuid();
        await using var worker = await stack.OpenSessionAsync();
        await SettlementStack.RunLockAsync(worker, "pg_advisory_lock", poolId);
        await stack.SettlementScalarAsync("""
            INSERT INTO settlements (pool_id, kind, status, created_at, updated_at, next_attempt_at)
            VALUES ($1, 'cancelled', 'due', now() - interval '1 hour', now() - interval '1 hour', now() - interval '1 hour')
            """, poolId);
        try
        {
            // The pool has not moved for an hour, past the 10 minutes, but its lock's holder has been busy just now.
            await stack.Settlement.Services.GetRequiredService<SettlementBacklog>().ReportAsync(default);

            Assert.Null((await stack.StatusAsync(poolId)).LastError);
            Assert.Equal(0, SettlementMetrics.Gauges()["streambets.settlement.stuck_on_lock"]);
        }
        finally
        {
            await stack.SettlementScalarAsync("DELETE FROM settlements WHERE pool_id = $1", poolId);
        }
    }

    [Fact]
    public async Task A_pool_called_stuck_on_its_lock_stops_saying_so_once_its_run_moves()
    {
        await stack.StopSettlementAsync();
        stack.StartSettlement(services => services.Configure<SettlementOptions>(o => o.StuckLockThreshold = TimeSpan.FromSeconds(2)));
        // A slow replica's run holds the lock of a pool it started an hour ago, and has paid nothing for a while.
        var poolId = Guid.NewGuid();
        await using var slowReplica = await stack.OpenSessionAsync();
        await SettlementStack.RunLockAsync(slowReplica, "pg_advisory_lock", poolId);
        try
        {
            await stack.SettlementScalarAsync("""
                INSERT INTO settlements (pool_id, kind, status, created_at, updated_at, next_attempt_at, attempts, started_at)
                VALUES ($1, 'cancelled', 'running', now() - interval '1 hour', now() - interval '1 hour', now() - interval '1 hour', 1, now() - interval '1 hour')
                """, poolId);
            var backlog = stack.Settlement.Services.GetRequiredService<SettlementBacklog>();
            Assert.True(await Eventually.HoldsAsync(async () =>
            {
                await backlog.ReportAsync(default);
                return (await stack.StatusAsync(poolId)).LastError?.StartsWith("run-lock-held: ", StringComparison.Ordinal) == true;
            }, TimeSpan.FromSeconds(15)), "The quiet lock holder was never reported.");
            Assert.Equal(1, SettlementMetrics.Gauges()["streambets.settlement.stuck_on_lock"]);

            // Then it records a payment slice, as a live run does (its lock session stays idle: payments go through others).
            await stack.SettlementScalarAsync("UPDATE settlements SET settled_bets = settled_bets + 1, updated_at = now() WHERE pool_id = $1", poolId);
            await backlog.ReportAsync(default);

            Assert.Null((await stack.StatusAsync(poolId)).LastError);
            Assert.Equal(0, SettlementMetrics.Gauges()["streambets.settlement.stuck_on_lock"]);
        }
        finally
        {
            await stack.SettlementScalarAsync("DELETE FROM settlements WHERE pool_id = $1", poolId);
            await stack.StopSettlementAsync();
            stack.StartSettlement();
        }
    }

    [Fact]
    public async Task A_due_pool_locked_by_a_lost_session_says_who_holds_it_and_settles_once_the_runbook_ends_that_session()
    {
        await stack.StopSettlementAsync();
        stack.StartSettlement(services => services.Configure<SettlementOptions>(o => o.StuckLockThreshold = TimeSpan.FromSeconds(1)));
        try
        {
            var pool = await stack.NewPoolAsync();
            var users = await stack.FundedUsersAsync(2, Funds);
            await stack.PlaceAsync(pool.Id, [(users[0], pool.Outcomes[0], 1_234), (users[1], pool.Outcomes[1], 999)]);
            await using var lostHost = await stack.OpenSessionAsync();
            await SettlementStack.RunLockAsync(lostHost, "pg_advisory_lock", pool.Id);

            await stack.CancelAsync(pool.Id);
            Assert.True(await Eventually.HoldsAsync(async () => (await stack.StatusAsync(pool.Id)).Status is not null, TimeSpan.FromSeconds(15)),
                "Settlement never recorded the cancelled pool.");

            // Past the threshold without progress, the backlog read explains the wait: which session, from where, since when.
            var backlog = stack.Settlement.Services.GetRequiredService<SettlementBacklog>();
            string? error = null;
            Assert.True(await Eventually.HoldsAsync(async () =>
            {
                await backlog.ReportAsync(default);
                error = (await stack.StatusAsync(pool.Id)).LastError;
                return error is not null;
            }, TimeSpan.FromSeconds(10)), "The stuck settlement's last_error never said why.");
            Assert.StartsWith($"run-lock-held: locked by PostgreSQL session pid {lostHost.ProcessID} (client ", error);
            Assert.Contains("docs/runbook.md", error);
            Assert.True(SettlementMetrics.Gauges()["streambets.settlement.stuck_on_lock"] >= 1);
            // It explains; it never takes the lock: the pool has not started.
            Assert.Equal(("due", 0L), ((await stack.StatusAsync(pool.Id)).Status, await stack.SettlementScalarAsync("SELECT attempts FROM settlements WHERE pool_id = $1", pool.Id)));

            // The runbook's recipe: find the holder of the pool's run lock, then end its session.
            var holder = await stack.SettlementScalarAsync("""
                SELECT l.pid FROM pg_locks l
                WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 727275 AND l.objid = hashtext($1)::oid AND l.objsubid = 2
                  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                """, pool.Id.ToString());
            Assert.Equal(lostHost.ProcessID, holder);
            await stack.SettlementScalarAsync("SELECT pg_terminate_backend($1::int)::int", holder);
            await stack.WaitSettledAsync(pool.Id);

            var balances = await stack.BalancesAsync([.. users.Select(u => $"user:{u}"), pool.Escrow]);
            Assert.Equal([Funds, Funds, 0], [balances[$"user:{users[0]}"], balances[$"user:{users[1]}"], balances[pool.Escrow]]);
            Assert.Null((await stack.StatusAsync(pool.Id)).LastError);
            await stack.AssertLedgerExactAsync();
        }
        finally
        {
            await stack.StopSettlementAsync();
            stack.StartSettlement();
        }
    }

    /// <summary>
    /// Runs <paramref name="test"/> on a new pool recorded due (as its PoolResolved's handler records it), whose run lock
    /// this test holds so that no worker touches it, and deletes its settlement afterwards.
    /// </summary>
    private async Task OnDuePoolAsync(Func<Guid, SettlementStore, DateTimeOffset, Task> test)
    {
        var poolId = Guid.NewGuid();
        await using var runs = await stack.OpenSessionAsync();
        await SettlementStack.RunLockAsync(runs, "pg_advisory_lock", poolId);
        var store = stack.Settlement.Services.GetRequiredService<SettlementStore>();
        var now = DateTimeOffset.UtcNow;
        Assert.True(await store.RecordDueAsync(poolId, SettlementKinds.Resolved, now, now, null, default));
        try
        {
            await test(poolId, store, now);
        }
        finally
        {
            await stack.SettlementScalarAsync("DELETE FROM settlements WHERE pool_id = $1", poolId);
        }
    }

    private static Guid FixedPoolId(int n) => new($"00000000-0000-4000-8000-{n:D12}");

    /// <summary>The client's first server stream waits until let go, then fails with INVALID_ARGUMENT (a refusal no retry fixes).</summary>
    private sealed class FirstStreamRefusedWhenLetGo : Interceptor
    {
        private int _calls;
        private readonly TaskCompletionSource _waiting = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _letGo = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The run waits for the stream's first message.</summary>
        public Task Waiting => _waiting.Task;

        public void LetGo() => _letGo.TrySetResult();

        public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(
            TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncServerStreamingCallContinuation<TRequest, TResponse> continuation)
        {
            var call = continuation(request, context);
            return Interlocked.Increment(ref _calls) == 1
                ? new AsyncServerStreamingCall<TResponse>(new RefusedStream<TResponse>(this), call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose)
                : call;
        }

        private sealed class RefusedStream<T>(FirstStreamRefusedWhenLetGo owner) : IAsyncStreamReader<T>
        {
            public T Current => throw new InvalidOperationException("The stream never sent a message.");

            public async Task<bool> MoveNext(CancellationToken cancellationToken)
            {
                owner._waiting.TrySetResult();
                await owner._letGo.Task;
                throw new RpcException(new Status(StatusCode.InvalidArgument, "injected refusal"));
            }
        }
    }
}
