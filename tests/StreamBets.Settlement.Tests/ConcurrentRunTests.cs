using System.Diagnostics;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.ClientFactory;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using StreamBets.Contracts.Wallet;
using StreamBets.Settlement.Payouts;
using StreamBets.Testing;
using Xunit.Abstractions;
using WalletClient = StreamBets.Contracts.Wallet.Wallet.WalletClient;

namespace StreamBets.Settlement.Tests;

/// <summary>
/// Two Settlement replicas running the same pool at once, which the run lock should prevent but cannot always: replica
/// A's lock session dies (a failover) while its run is paused mid-payout, with payment batches applied by the ledger and
/// not yet recorded; replica B takes the pool over; then A's run resumes, while B pays or after B settled the pool.
/// Whatever the interleaving, every payout moves once, the escrow ends at exactly 0, the house gets the rake and the
/// breakage once, every bet is recorded and announced once, and the pool is announced settled once.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class ConcurrentRunTests(SettlementStack stack, ITestOutputHelper output)
{
    private const int Bets = 3_000;
    private const long Funds = 100_000;

    /// <summary>Replica A's payout batches that go through before the rest are held (500 bets each, 6 in all).</summary>
    private const int BatchesBeforePause = 2;

    [Fact]
    public Task Two_replicas_paying_the_same_pool_at_once_after_a_lost_run_lock_pay_every_bet_once() =>
        OverlappingRunsAsync(firstResumesAfterTheTakeoverSettled: false);

    [Fact]
    public Task A_run_paused_mid_payout_that_lost_its_lock_resumes_after_another_replica_settled_the_pool_and_moves_nothing_twice() =>
        OverlappingRunsAsync(firstResumesAfterTheTakeoverSettled: true);

    [Fact]
    public async Task Two_replicas_that_both_see_the_due_pool_pay_every_bet_once()
    {
        var clock = Stopwatch.StartNew();
        var (pool, bets, house) = await PoolWithBetsAsync(clock);
        // The stack's host and a second replica poll the same settlementdb every 200 ms: both see the pool due while it
        // runs (a run of 3,000 bets takes longer than a poll), and the run lock lets one of them run it.
        var replica = stack.StartReplica();
        try
        {
            await stack.LockAsync(pool.Id);
            await stack.ResolveAsync(pool.Id, pool.Outcomes[0]);
            await stack.WaitSettledAsync(pool.Id, TimeSpan.FromSeconds(20));
            output.WriteLine($"Settled after {clock.Elapsed.TotalSeconds:F1} s");

            // Runs not counted: a retry after a passing failure on a loaded box would count a second; the lock guards the money.
            await AssertSettledOnceAsync(pool, bets, house, runs: null);
            output.WriteLine($"Checked after {clock.Elapsed.TotalSeconds:F1} s");
        }
        finally
        {
            await replica.DisposeAsync();
        }
    }

    private async Task OverlappingRunsAsync(bool firstResumesAfterTheTakeoverSettled)
    {
        var clock = Stopwatch.StartNew();
        var (pool, bets, house) = await PoolWithBetsAsync(clock);

        // Only the two replicas of this test settle. A runs one pool at a time, so the run it loses the lock of is its only one.
        await stack.StopSettlementAsync();
        var gate = new PayoutGate(pool.Escrow, BatchesBeforePause);
        var endOfA = new RunEnd(pool.Id);
        var seenByB = new PayoutGate(pool.Escrow, int.MaxValue);
        var endOfB = new RunEnd(pool.Id);
        WebApplicationFactory<SettlementWorker>? replicaA = null, replicaB = null;
        try
        {
            replicaA = stack.StartReplica(services =>
            {
                services.Configure<SettlementOptions>(o => o.MaxConcurrentSettlements = 1);
                services.Configure<GrpcClientFactoryOptions>(nameof(WalletClient),
                    o => o.InterceptorRegistrations.Add(new InterceptorRegistration(InterceptorScope.Client, _ => gate)));
                services.AddSingleton<ILoggerProvider>(endOfA);
                services.AddLogging(logging => logging.AddFilter<RunEnd>(typeof(SettlementWorker).FullName, LogLevel.Information));
            });
            await stack.LockAsync(pool.Id);
            await stack.ResolveAsync(pool.Id, pool.Outcomes[0]);

            // A has paid some batches, and the ledger applied the next ones, which A's payers wait to record.
            Assert.True(await Task.WhenAny(gate.Held, Task.Delay(TimeSpan.FromSeconds(30))) == gate.Held, "Replica A never got past its first payout batches.");
            output.WriteLine($"Replica A paused mid-payout after {clock.Elapsed.TotalSeconds:F1} s, {await RecordedAsync(pool.Id)} bets recorded");

            // A's lock session dies, as in a failover; A does not notice (the session is idle while it pays) and goes on later.
            await using (var admin = await stack.OpenSessionAsync())
            await using (var terminate = new NpgsqlCommand("""
                SELECT count(pg_terminate_backend(l.pid)) FROM pg_locks l
                WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1 AND l.objid = hashtext($2)::oid AND l.objsubid = 2
                  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                """, admin))
            {
                terminate.Parameters.Add(new NpgsqlParameter<int> { TypedValue = SettlementWorker.RunLockClass });
                terminate.Parameters.Add(new NpgsqlParameter<string> { TypedValue = pool.Id.ToString() });
                Assert.Equal(1L, await terminate.ExecuteScalarAsync());
            }

            // B finds the pool 'running' and unlocked, and takes it over.
            replicaB = stack.StartReplica(services =>
            {
                services.Configure<GrpcClientFactoryOptions>(nameof(WalletClient),
                    o => o.InterceptorRegistrations.Add(new InterceptorRegistration(InterceptorScope.Client, _ => seenByB)));
                services.AddSingleton<ILoggerProvider>(endOfB);
                services.AddLogging(logging => logging.AddFilter<RunEnd>(typeof(SettlementWorker).FullName, LogLevel.Information));
            });
            if (firstResumesAfterTheTakeoverSettled)
            {
                await stack.WaitSettledAsync(pool.Id, TimeSpan.FromSeconds(20));
                Assert.False(endOfA.Ended.IsCompleted);
            }
            else
            {
                // B's first payout batch is on its way: A resumes now, and both pay the rest of the pool side by side.
                Assert.True(await Task.WhenAny(seenByB.Sent, Task.Delay(TimeSpan.FromSeconds(20))) == seenByB.Sent, "Replica B never paid.");
            }
            output.WriteLine($"Replica A resumes after {clock.Elapsed.TotalSeconds:F1} s, {await RecordedAsync(pool.Id)} bets recorded");
            gate.Open();

            var ends = Task.WhenAll(endOfA.Ended, endOfB.Ended);
            Assert.True(await Task.WhenAny(ends, Task.Delay(TimeSpan.FromSeconds(20))) == ends,
                $"A run did not end: A {endOfA.Ended.Status}, B {endOfB.Ended.Status}; status '{(await stack.StatusAsync(pool.Id)).Status}'.");
            var (a, b) = (await endOfA.Ended, await endOfB.Ended);
            output.WriteLine($"Both runs ended after {clock.Elapsed.TotalSeconds:F1} s: A {a}, B {b}");
            // Both runs settled the pool; exactly one wrote PoolSettled.
            Assert.Equal(("PoolSettled", "PoolSettled"), (a.Event, b.Event));
            Assert.Equal(1, new[] { a.Published, b.Published }.Count(p => p == true));
            if (firstResumesAfterTheTakeoverSettled)
            {
                Assert.Equal((false, true), (a.Published, b.Published));
            }

            await AssertSettledOnceAsync(pool, bets, house, runs: 2);
            output.WriteLine($"Checked after {clock.Elapsed.TotalSeconds:F1} s");
        }
        finally
        {
            gate.Open(); // a failed assertion must not leave A's payers waiting for ever
            if (replicaB is not null)
            {
                await replicaB.DisposeAsync();
            }
            if (replicaA is not null)
            {
                await replicaA.DisposeAsync();
            }
            stack.StartSettlement();
        }
    }

    /// <summary>
    /// The money and the records of a pool settled by however many runs, against figures worked out by hand: each payout
    /// moved once, the escrow ends at 0, the house got the rake and the breakage once, each bet recorded and announced once.
    /// </summary>
    private async Task AssertSettledOnceAsync(TestPool pool, TestBet[] bets, (long Rake, long Breakage) house, int? runs)
    {
        // By hand: T, rake = floor(T * 5 %), winners share T - rake pro rata, floored; the rest is breakage.
        Assert.Equal(500, pool.RakeBasisPoints);
        var total = bets.Sum(b => b.StakeMinor);
        var winningStake = bets.Where(b => b.OutcomeId == pool.Outcomes[0]).Sum(b => b.StakeMinor);
        var rake = total * 500 / 10_000;
        long Payout(TestBet bet) => bet.OutcomeId == pool.Outcomes[0] ? (long)((Int128)bet.StakeMinor * (total - rake) / winningStake) : 0;
        var paid = bets.Sum(Payout);
        var breakage = total - rake - paid;
        var winners = bets.Count(b => Payout(b) > 0);

        var balances = await stack.BalancesAsync([.. bets.Select(b => $"user:{b.UserId}"), pool.Escrow]);
        Assert.All(bets, bet => Assert.Equal(Funds - bet.StakeMinor + Payout(bet), balances[$"user:{bet.UserId}"]));
        Assert.Equal(0, balances[pool.Escrow]);
        Assert.Equal((house.Rake + rake, house.Breakage + breakage),
            (await stack.BalanceAsync(PoolSettlementRun.HouseRakeAccount), await stack.BalanceAsync(PoolSettlementRun.HouseBreakageAccount)));
        // The ledger's own record: one transfer out of the escrow per winner, plus the rake and the breakage, summing to T.
        Assert.Equal((winners + 1 + (breakage > 0 ? 1 : 0), total), await EscrowDebitsAsync(pool.Escrow));
        await stack.AssertLedgerExactAsync();

        // settlementdb: each bet recorded once, the progress counted once, the summary and the runs started.
        Assert.Equal((long)Bets, await RecordedAsync(pool.Id));
        Assert.Equal(paid, await stack.SettlementScalarAsync("SELECT sum(payout_minor)::bigint FROM settled_bets WHERE pool_id = $1", pool.Id));
        Assert.Equal((long)Bets, await stack.SettlementScalarAsync("SELECT settled_bets FROM settlements WHERE pool_id = $1", pool.Id));
        Assert.Equal((paid, rake, breakage, 0L), (
            await stack.SettlementScalarAsync("SELECT paid_minor FROM settlements WHERE pool_id = $1", pool.Id),
            await stack.SettlementScalarAsync("SELECT rake_minor FROM settlements WHERE pool_id = $1", pool.Id),
            await stack.SettlementScalarAsync("SELECT breakage_minor FROM settlements WHERE pool_id = $1", pool.Id),
            await stack.SettlementScalarAsync("SELECT escrow_residue_minor FROM settlements WHERE pool_id = $1", pool.Id)));
        if (runs is not null)
        {
            Assert.Equal((long)runs, await stack.SettlementScalarAsync("SELECT attempts FROM settlements WHERE pool_id = $1", pool.Id));
        }
        Assert.Equal<(string?, string?)>(("settled", null), await stack.StatusAsync(pool.Id));

        // The bus: each bet in one BetsSettled, and one PoolSettled (a copy republished by the relay keeps its id).
        List<System.Text.Json.JsonElement> lines = [];
        Assert.True(await Eventually.HoldsAsync(async () => (lines = await stack.SettledBetLinesAsync(pool.Id)).Count >= Bets, TimeSpan.FromSeconds(15)),
            $"{lines.Count} bets announced in BetsSettled for {Bets} bets.");
        var perBet = lines.GroupBy(l => l.GetProperty("betId").GetGuid()).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(bets.Select(b => b.BetId).Order(), perBet.Keys.Order());
        Assert.All(perBet.Values, count => Assert.Equal(1, count));
        List<PublishedEvent> poolSettled = [];
        Assert.True(await Eventually.HoldsAsync(async () => (poolSettled = await stack.PublishedAsync("streambets.settlement.pool-settled.v1", pool.Id)).Count > 0,
            TimeSpan.FromSeconds(15)), "PoolSettled was never published.");
        Assert.Single(poolSettled.DistinctBy(e => e.Id));
    }

    /// <summary>An open pool of two outcomes with <see cref="Bets"/> bets of players of their own, and the house's balances before it settles.</summary>
    private async Task<(TestPool Pool, TestBet[] Bets, (long Rake, long Breakage) House)> PoolWithBetsAsync(Stopwatch clock)
    {
        var pool = await stack.NewPoolAsync();
        var users = await stack.FundedUsersAsync(Bets, Funds);
        var random = new Random(20261207);
        var bets = await stack.PlaceAsync(pool.Id, users.Select(u => (u, pool.Outcomes[random.Next(2)], (long)random.Next(100, 5_000))), batchSize: 1_500);
        output.WriteLine($"{Bets} bets placed after {clock.Elapsed.TotalSeconds:F1} s");
        return (pool, bets, (await stack.BalanceAsync(PoolSettlementRun.HouseRakeAccount), await stack.BalanceAsync(PoolSettlementRun.HouseBreakageAccount)));
    }

    private Task<long> RecordedAsync(Guid poolId) => stack.SettlementScalarAsync("SELECT count(*) FROM settled_bets WHERE pool_id = $1", poolId);

    /// <summary>How many ledger entries took money out of the escrow, and how much in all.</summary>
    private async Task<(long Count, long AmountMinor)> EscrowDebitsAsync(string escrow)
    {
        await using var command = stack.UsersDb.CreateCommand("""
            SELECT count(*), coalesce(-sum(e.amount), 0)::bigint FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id
            WHERE a.code = $1 AND e.amount < 0
            """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = escrow });
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    /// <summary>
    /// Watches a replica's payout batches out of one escrow: signals the first one sent; lets <c>passing</c> of them go
    /// through, then holds the answers of the later ones, which the ledger has applied, until opened (their runs cannot
    /// record them meanwhile). House transfers are never held.
    /// </summary>
    private sealed class PayoutGate(string escrow, int passing) : Interceptor
    {
        private readonly TaskCompletionSource _sent = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _held = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _batches;

        public Task Sent => _sent.Task;

        public Task Held => _held.Task;

        public void Open() => _open.TrySetResult();

        public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
            TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
        {
            if (request is not TransferBatchRequest { Transfers: [var first, ..] } || first.Legs[0].FromAccount != escrow
                || first.Reason is PoolSettlementRun.RakeReason or PoolSettlementRun.BreakageReason)
            {
                return continuation(request, context);
            }
            _sent.TrySetResult();
            var call = continuation(request, context);
            if (Interlocked.Increment(ref _batches) <= passing)
            {
                return call;
            }
            return new AsyncUnaryCall<TResponse>(HoldAsync(call.ResponseAsync), call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
        }

        private async Task<TResponse> HoldAsync<TResponse>(Task<TResponse> response)
        {
            var reply = await response; // the ledger applied the batch
            _held.TrySetResult();
            await _open.Task;
            return reply;
        }
    }

    /// <summary>Signals how a replica's (first) run of the pool ended, from the worker's log: its event and whether it wrote PoolSettled.</summary>
    private sealed class RunEnd(Guid poolId) : ILoggerProvider
    {
        private static readonly int[] EndEvents = [21, 22, 23, 24]; // PoolSettled, SettlementRetry, SettlementFailed, SettlementInterrupted
        private readonly TaskCompletionSource<(string? Event, bool? Published)> _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<(string? Event, bool? Published)> Ended => _ended.Task;

        private Guid PoolId => poolId;

        public ILogger CreateLogger(string categoryName) => categoryName == typeof(SettlementWorker).FullName ? new Logger(this) : Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

        public void Dispose()
        {
        }

        private sealed class Logger(RunEnd end) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (EndEvents.Contains(eventId.Id) && state is IEnumerable<KeyValuePair<string, object?>> properties)
                {
                    var values = properties.ToDictionary(p => p.Key, p => p.Value);
                    if (values.TryGetValue("PoolId", out var id) && Equals(id, end.PoolId))
                    {
                        end._ended.TrySetResult((eventId.Name, values.GetValueOrDefault("Published") as bool?));
                    }
                }
            }
        }
    }
}
