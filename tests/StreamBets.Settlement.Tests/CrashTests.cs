using System.Diagnostics;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.ClientFactory;
using Microsoft.Extensions.DependencyInjection;
using StreamBets.Contracts.Wallet;
using StreamBets.Settlement.Payouts;
using StreamBets.Testing;
using Xunit.Abstractions;
using WalletClient = StreamBets.Contracts.Wallet.Wallet.WalletClient;

namespace StreamBets.Settlement.Tests;

/// <summary>
/// The issue's crash test: the Settlement process dies halfway through paying a pool of 10,000 bets, at the worst
/// moment (the ledger applied a payment batch, settlementdb never heard of it), and a fresh process on the same
/// database finishes the job. Every bet ends settled once, the ledger is exact, and so is the paid metric: a rerun
/// replays payments, which the ledger answers DUPLICATE, and they are not counted as paid again.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class CrashTests(SettlementStack stack, ITestOutputHelper output)
{
    private const int Bets = 10_000;
    private const long Funds = 100_000;

    [Fact]
    public async Task A_settlement_killed_halfway_through_paying_10000_bets_is_finished_by_a_fresh_process_paying_nobody_twice()
    {
        var clock = Stopwatch.StartNew();
        var pool = await stack.NewPoolAsync();
        var users = await stack.FundedUsersAsync(Bets, Funds);
        var random = new Random(20261202);
        var bets = await stack.PlaceAsync(pool.Id, users.Select(u => (u, pool.Outcomes[random.Next(2)], (long)random.Next(100, 5_000))), batchSize: 2_000);
        output.WriteLine($"{Bets} bets placed after {clock.Elapsed.TotalSeconds:F1} s");
        var house = (Rake: await stack.BalanceAsync("house:rake"), Breakage: await stack.BalanceAsync("house:breakage"));

        using var paidMetric = new PaidMetric(pool.Id);

        // The first process: its 4th payment batch reaches the ledger and applies, then the process "dies" before it
        // records anything (the call never returns, and every later payment hangs the same way).
        await stack.StopSettlementAsync();
        var crash = new CrashAfterPayments(paymentsLetThrough: 3);
        stack.StartSettlement(services => services.Configure<GrpcClientFactoryOptions>(nameof(WalletClient),
            o => o.InterceptorRegistrations.Add(new InterceptorRegistration(InterceptorScope.Client, _ => crash))));

        await stack.LockAsync(pool.Id);
        await stack.ResolveAsync(pool.Id, pool.Outcomes[0]);
        await crash.Reached.WaitAsync(TimeSpan.FromSeconds(60));
        await Task.Delay(TimeSpan.FromSeconds(1)); // the payments before it finish recording
        await stack.StopSettlementAsync();
        output.WriteLine($"Crashed after {clock.Elapsed.TotalSeconds:F1} s");

        var recorded = await stack.SettlementScalarAsync("SELECT count(*) FROM settled_bets WHERE pool_id = $1", pool.Id);
        var recordedPaid = await stack.SettlementScalarAsync("SELECT coalesce(sum(payout_minor), 0)::bigint FROM settled_bets WHERE pool_id = $1", pool.Id);
        var total = bets.Sum(b => b.StakeMinor);
        Assert.Equal("running", (await stack.StatusAsync(pool.Id)).Status);
        Assert.InRange(recorded, 1, Bets - 1);
        // Money left the escrow for bets settlementdb has not recorded: the crash window the rerun must not pay twice.
        Assert.True(await stack.BalanceAsync(pool.Escrow) < total - recordedPaid, "The crash came before any unrecorded payment applied.");

        // A fresh process on the same settlementdb resumes the settlement by itself.
        stack.StartSettlement();
        await stack.WaitSettledAsync(pool.Id, TimeSpan.FromSeconds(60));
        output.WriteLine($"Settled after {clock.Elapsed.TotalSeconds:F1} s ({recorded} bets were recorded before the crash)");

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
        // Both processes together counted the pool's total as paid, once.
        Assert.Equal((paid, rake, total - rake - paid), paidMetric.ByReason());

        Assert.Equal(Bets, await stack.SettlementScalarAsync("SELECT count(*) FROM settled_bets WHERE pool_id = $1", pool.Id));
        Assert.Equal(Bets, await stack.SettlementScalarAsync("SELECT settled_bets FROM settlements WHERE pool_id = $1", pool.Id));
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
        Assert.Single((await stack.PublishedAsync("streambets.settlement.pool-settled.v1", pool.Id)).DistinctBy(e => e.Id));
        output.WriteLine($"Checked after {clock.Elapsed.TotalSeconds:F1} s");
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

    /// <summary>Lets the first payments through; from then on each payment reaches the ledger, and its answer never comes back.</summary>
    private sealed class CrashAfterPayments(int paymentsLetThrough) : Interceptor
    {
        private int _payments;
        private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Reached => _reached.Task;

        public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
            TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
        {
            var call = continuation(request, context);
            if (request is not TransferBatchRequest || Interlocked.Increment(ref _payments) <= paymentsLetThrough)
            {
                return call;
            }
            return new AsyncUnaryCall<TResponse>(
                HangAfterAsync(call.ResponseAsync, context.Options.CancellationToken), call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
        }

        private async Task<TResponse> HangAfterAsync<TResponse>(Task<TResponse> response, CancellationToken cancellationToken)
        {
            await response; // the ledger applied it
            _reached.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new InvalidOperationException("Unreachable: the process died.");
        }
    }
}
