using System.Diagnostics;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.ClientFactory;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using StreamBets.Contracts.Wallet;
using StreamBets.Settlement.Payouts;
using StreamBets.Testing;
using Xunit.Abstractions;
using WalletClient = StreamBets.Contracts.Wallet.Wallet.WalletClient;

namespace StreamBets.Settlement.Tests;

/// <summary>
/// The issue's crash test: Settlement, as an OS process of its own, is killed (SIGKILL: no shutdown code runs, its run
/// lock is not released politely) halfway through paying a pool of 10,000 bets, at the worst moment (the ledger applied
/// a payment batch, settlementdb never recorded it), and a fresh process on the same database finishes the job. Every
/// bet ends settled once, and the ledger and settlementdb's paid totals are exact.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class CrashTests(SettlementStack stack, ITestOutputHelper output)
{
    private const int Bets = 10_000;
    private const long Funds = 100_000;
    private const int Halfway = Bets / 2;

    [Fact]
    public async Task A_settlement_process_killed_halfway_through_paying_10000_bets_is_finished_by_a_fresh_process_paying_nobody_twice()
    {
        var clock = Stopwatch.StartNew();
        var pool = await stack.NewPoolAsync();
        var users = await stack.FundedUsersAsync(Bets, Funds);
        var random = new Random(20261202);
        var bets = await stack.PlaceAsync(pool.Id, users.Select(u => (u, pool.Outcomes[random.Next(2)], (long)random.Next(100, 5_000))), batchSize: 2_000);
        output.WriteLine($"{Bets} bets placed after {clock.Elapsed.TotalSeconds:F1} s");
        var house = (Rake: await stack.BalanceAsync("house:rake"), Breakage: await stack.BalanceAsync("house:breakage"));
        var total = bets.Sum(b => b.StakeMinor);

        var logs = Directory.CreateTempSubdirectory("settlement-crash-").FullName;
        output.WriteLine($"Settlement process logs: {logs}");
        await stack.StopSettlementAsync();
        var processes = new ServiceProcesses(logs, BuildConfiguration);
        var passed = false;
        try
        {
            await using var hold = await RecordingHold.PastAsync(stack, pool.Id, Halfway);
            await stack.StartSettlementProcessAsync(processes, "settlement-killed");
            output.WriteLine($"First Settlement process up after {clock.Elapsed.TotalSeconds:F1} s");
            await stack.LockAsync(pool.Id);
            await stack.ResolveAsync(pool.Id, pool.Outcomes[0]);

            // Halfway, the hold stops the next slice's record inside its INSERT, after its payments reached the ledger and
            // applied. The kill comes while it waits, so those payments moved and settlementdb never heard of them, the
            // window a rerun must not pay twice.
            Assert.True(await hold.ReachedAsync(TimeSpan.FromSeconds(90)),
                $"Settlement never tried to record the next slice: {await RecordedAsync(pool.Id)} bets recorded; status '{(await stack.StatusAsync(pool.Id)).Status}'.");
            var recorded = await RecordedAsync(pool.Id);
            var recordedPaid = await stack.SettlementScalarAsync("SELECT coalesce(sum(payout_minor), 0)::bigint FROM settled_bets WHERE pool_id = $1", pool.Id);

            Assert.False(await RunLockIsFreeAsync(pool.Id), "The first process does not hold the pool's run lock.");
            var exitCode = await processes.KillAsync("settlement-killed");
            Assert.Equal(128 + 9, exitCode); // SIGKILL
            output.WriteLine($"Killed after {clock.Elapsed.TotalSeconds:F1} s, {recorded} bets recorded");
            await hold.DisposeAsync(); // the dead process's held insert goes on, finds its client gone, and rolls back

            Assert.Equal("running", (await stack.StatusAsync(pool.Id)).Status);
            Assert.InRange(recorded, Halfway, Bets - 1);
            Assert.Equal(recorded, await RecordedAsync(pool.Id));
            Assert.True(await stack.BalanceAsync(pool.Escrow) < total - recordedPaid, "No payment the killed process made was left unrecorded.");

            // The kill closed the dead process's sockets, so PostgreSQL ends its sessions, and its run lock with them.
            Assert.True(await Eventually.HoldsAsync(() => RunLockIsFreeAsync(pool.Id), TimeSpan.FromSeconds(15)),
                "The killed process's session still holds the pool's run lock.");

            // A fresh process on the same settlementdb resumes the settlement by itself.
            await stack.StartSettlementProcessAsync(processes, "settlement-restarted");
            await stack.WaitSettledAsync(pool.Id, TimeSpan.FromSeconds(60));
            output.WriteLine($"Settled after {clock.Elapsed.TotalSeconds:F1} s ({recorded} bets were recorded before the kill)");

            // By hand: T, rake = floor(T * 5 %), winners share T - rake pro rata, floored; the rest is breakage.
            Assert.Equal(500, pool.RakeBasisPoints);
            var winningStake = bets.Where(b => b.OutcomeId == pool.Outcomes[0]).Sum(b => b.StakeMinor);
            var rake = total * 500 / 10_000;
            long Payout(TestBet bet) => bet.OutcomeId == pool.Outcomes[0] ? (long)((Int128)bet.StakeMinor * (total - rake) / winningStake) : 0;
            var paid = bets.Sum(Payout);

            var balances = await stack.BalancesAsync([.. bets.Select(b => $"user:{b.UserId}"), pool.Escrow]);
            Assert.All(bets, bet => Assert.Equal(Funds - bet.StakeMinor + Payout(bet), balances[$"user:{bet.UserId}"]));
            Assert.Equal(0, balances[pool.Escrow]);
            Assert.Equal((house.Rake + rake, house.Breakage + total - rake - paid), (await stack.BalanceAsync("house:rake"), await stack.BalanceAsync("house:breakage")));
            await stack.AssertLedgerExactAsync();

            // The ledger's own record, not just where balances ended: each winning bet got exactly one payout transfer,
            // to its own wallet, under the id named payout:{betId} (written out here, not taken from Settlement: it is
            // the idempotency key a rerun by any version must repeat), a losing bet none, and nothing else paid out of
            // the escrow (a rerun's duplicate under another id or reference would show here).
            var transfers = await stack.SettlementTransfersAsync(bets.Select(b => b.BetId));
            Assert.All(bets.Where(b => Payout(b) > 0), bet => Assert.Equal(
                [(WalletTransferIds.FromName($"payout:{bet.BetId}"), PoolSettlementRun.PayoutReason, $"user:{bet.UserId}", Payout(bet))],
                transfers.GetValueOrDefault(bet.BetId) ?? []));
            Assert.All(bets.Where(b => Payout(b) == 0), bet => Assert.False(transfers.ContainsKey(bet.BetId), $"Losing bet {bet.BetId} was paid."));
            Assert.Equal(bets.Count(b => Payout(b) > 0), await stack.EscrowTransfersAsync(pool.Id, PoolSettlementRun.PayoutReason));

            // settlementdb counts each bet and each minor unit once, whichever process recorded it.
            Assert.Equal(Bets, await RecordedAsync(pool.Id));
            Assert.Equal(Bets, await stack.SettlementScalarAsync("SELECT count(DISTINCT bet_id) FROM settled_bets WHERE pool_id = $1", pool.Id));
            Assert.Equal(paid, await stack.SettlementScalarAsync("SELECT sum(payout_minor)::bigint FROM settled_bets WHERE pool_id = $1", pool.Id));
            Assert.Equal(Bets, await stack.SettlementScalarAsync("SELECT settled_bets FROM settlements WHERE pool_id = $1", pool.Id));
            Assert.Equal((paid, rake, total - rake - paid), (
                await stack.SettlementScalarAsync("SELECT paid_minor FROM settlements WHERE pool_id = $1", pool.Id),
                await stack.SettlementScalarAsync("SELECT rake_minor FROM settlements WHERE pool_id = $1", pool.Id),
                await stack.SettlementScalarAsync("SELECT breakage_minor FROM settlements WHERE pool_id = $1", pool.Id)));

            List<System.Text.Json.JsonElement> lines = [];
            Assert.True(await Eventually.HoldsAsync(async () =>
            {
                lines = await stack.SettledBetLinesAsync(pool.Id);
                return lines.Count >= Bets;
            }, TimeSpan.FromSeconds(30)),
                $"{lines.Count} bets announced in BetsSettled for {Bets} bets; {await stack.SettlementScalarAsync("SELECT count(*) FROM outbox")} events still in settlementdb's outbox.");
            var perBet = lines.GroupBy(l => l.GetProperty("betId").GetGuid()).ToDictionary(g => g.Key, g => g.Count());
            Assert.Equal(Bets, perBet.Count);
            Assert.All(perBet.Values, count => Assert.Equal(1, count));

            List<PublishedEvent> poolSettled = [];
            Assert.True(await Eventually.HoldsAsync(async () =>
            {
                poolSettled = await stack.PublishedAsync("streambets.settlement.pool-settled.v1", pool.Id);
                return poolSettled.Count > 0;
            }, TimeSpan.FromSeconds(30)), "PoolSettled was never published.");
            Assert.Single(poolSettled.DistinctBy(e => e.Id));
            output.WriteLine($"Checked after {clock.Elapsed.TotalSeconds:F1} s");
            passed = true;
        }
        finally
        {
            await processes.DisposeAsync();
            stack.StartSettlement();
            if (passed)
            {
                Directory.Delete(logs, recursive: true); // a failure keeps the processes' logs
            }
        }
    }

    [Fact]
    public async Task A_rerun_after_the_house_was_paid_counts_the_money_paid_once()
    {
        var pool = await stack.NewPoolAsync();
        var users = await stack.FundedUsersAsync(3, Funds);
        await stack.PlaceAsync(pool.Id, [(users[0], pool.Outcomes[0], 1_000), (users[1], pool.Outcomes[0], 1_000), (users[2], pool.Outcomes[1], 1_001)]);
        using var paidMetric = new PaidMetric(pool.Id);
        // Users is briefly unreachable for the escrow check after the house was paid: the run is retried, and the rerun
        // replays the house's transfers (DUPLICATE) before it can finish.
        await stack.StopSettlementAsync();
        var balanceReads = new FirstBalanceReadFails(pool.Escrow);
        stack.StartSettlement(services => services.Configure<GrpcClientFactoryOptions>(nameof(WalletClient),
            o => o.InterceptorRegistrations.Add(new InterceptorRegistration(InterceptorScope.Client, _ => balanceReads))));
        try
        {
            await stack.LockAsync(pool.Id);
            await stack.ResolveAsync(pool.Id, pool.Outcomes[0]);
            await stack.WaitSettledAsync(pool.Id);
        }
        finally
        {
            await stack.StopSettlementAsync();
            stack.StartSettlement();
        }

        Assert.Equal(2, await stack.SettlementScalarAsync("SELECT attempts FROM settlements WHERE pool_id = $1", pool.Id));
        // T = 3,001; rake floor(150.05) = 150; the winners share 2,851 pro rata: 1,425 each, floored; breakage 1.
        Assert.Equal((2_850L, 150L, 1L), paidMetric.ByReason());
        await stack.AssertLedgerExactAsync();
    }

#if DEBUG
    private const string BuildConfiguration = "Debug";
#else
    private const string BuildConfiguration = "Release";
#endif

    private Task<long> RecordedAsync(Guid poolId) => stack.SettlementScalarAsync("SELECT count(*) FROM settled_bets WHERE pool_id = $1", poolId);

    /// <summary>Whether a session of ours can take the pool's run lock at once (it lets go of it straight away).</summary>
    private async Task<bool> RunLockIsFreeAsync(Guid poolId)
    {
        await using var session = await stack.OpenSessionAsync();
        await using var tryLock = new NpgsqlCommand("SELECT pg_try_advisory_lock($1, hashtext($2))", session);
        tryLock.Parameters.Add(new NpgsqlParameter<int> { TypedValue = SettlementWorker.RunLockClass });
        tryLock.Parameters.Add(new NpgsqlParameter<string> { TypedValue = poolId.ToString() });
        return (bool)(await tryLock.ExecuteScalarAsync())!; // the session's end releases it
    }

    /// <summary>Sums <c>streambets.settlement.paid</c> of one pool's runs by reason while it listens, as an exporter would.</summary>
    private sealed class PaidMetric(Guid poolId) : IDisposable
    {
        private readonly TaggedCounter _paid = new("streambets.settlement.paid", "reason", poolId);

        public (long Payout, long Rake, long Breakage) ByReason() =>
            (_paid.Sum(PoolSettlementRun.PayoutReason), _paid.Sum(PoolSettlementRun.RakeReason), _paid.Sum(PoolSettlementRun.BreakageReason));

        public void Dispose() => _paid.Dispose();
    }

    /// <summary>The first GetBalance of the account fails as if Users were briefly unreachable; every other call goes through.</summary>
    private sealed class FirstBalanceReadFails(string account) : Interceptor
    {
        private int _reads;

        public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
            TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
        {
            if (request is not GetBalanceRequest read || read.Account != account || Interlocked.Increment(ref _reads) > 1)
            {
                return continuation(request, context);
            }
            var unavailable = new Status(StatusCode.Unavailable, "Users is restarting.");
            return new AsyncUnaryCall<TResponse>(
                Task.FromException<TResponse>(new RpcException(unavailable)), Task.FromResult(new Metadata()), () => unavailable, () => new Metadata(), () => { });
        }
    }

    /// <summary>
    /// Stops the first transaction that records a pool's settled bets once <c>count</c> of them are recorded: a trigger
    /// makes its INSERT wait on an advisory lock our session holds, after the slice's payments were applied. Recording
    /// transactions take turns (each until it commits), so the count is exact and no later slice slips past the held
    /// one. Dispose to let it through and drop the trigger.
    /// </summary>
    private sealed class RecordingHold(SettlementStack stack, NpgsqlConnection holder, string name, int key) : IAsyncDisposable
    {
        private bool _disposed;

        public static async Task<RecordingHold> PastAsync(SettlementStack stack, Guid poolId, int count)
        {
            var name = $"hold_{Guid.NewGuid():N}";
            var key = Random.Shared.Next(1, int.MaxValue); // the held lock; key - 1 is the turn
            var holder = await stack.OpenSessionAsync();
            await using (var hold = new NpgsqlCommand($"SELECT pg_advisory_lock({PostgresRaceSteps.PauseLockClass}, {key})", holder))
            {
                await hold.ExecuteNonQueryAsync();
            }
            await using var create = stack.SettlementDb.CreateCommand($"""
                CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    -- Settlement's payers record concurrently; taking turns makes the count see every earlier slice.
                    PERFORM pg_advisory_xact_lock({PostgresRaceSteps.PauseLockClass}, {key - 1});
                    IF (SELECT count(*) FROM settled_bets WHERE pool_id = '{poolId}') >= {count} THEN
                        PERFORM pg_advisory_xact_lock({PostgresRaceSteps.PauseLockClass}, {key});
                    END IF;
                    RETURN NULL;
                END $$;
                CREATE TRIGGER {name} BEFORE INSERT ON settled_bets FOR EACH STATEMENT EXECUTE FUNCTION {name}();
                """);
            await create.ExecuteNonQueryAsync();
            return new RecordingHold(stack, holder, name, key);
        }

        /// <summary>Whether, within the time, a recording transaction came to wait on the held lock.</summary>
        public Task<bool> ReachedAsync(TimeSpan within) => Eventually.HoldsAsync(async () => await stack.SettlementScalarAsync($"""
            SELECT count(*) FROM pg_locks
            WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND classid = {PostgresRaceSteps.PauseLockClass} AND objid = {key} AND objsubid = 2
            """) > 0, within);

        /// <summary>
        /// Lets the held insert go on, then drops the trigger. In that order: DROP TRIGGER waits for the inserts under
        /// way, so it would wait forever on the held one.
        /// </summary>
        public async ValueTask DisposeAsync()
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            await holder.DisposeAsync(); // a session of its own: closing it releases the lock
            await using var drop = stack.SettlementDb.CreateCommand($"DROP TRIGGER {name} ON settled_bets; DROP FUNCTION {name}();");
            await drop.ExecuteNonQueryAsync();
        }
    }
}
