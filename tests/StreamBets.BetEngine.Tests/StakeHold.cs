using Grpc.Core;
using Grpc.Core.Interceptors;
using StreamBets.BetEngine.Ledger;
using StreamBets.Contracts.Wallet;

namespace StreamBets.BetEngine.Tests;

/// <summary>
/// Freezes one bet batch between its two money steps: the Bet Engine's next stake TransferBatch into one pool's escrow
/// is applied by the real ledger, and its answer is held back until the test releases it. Meanwhile the bets are
/// pending in betsdb with their stakes in escrow, and the test can finish the pool or begin its settlement snapshot.
/// </summary>
public sealed class StakeHold : Interceptor
{
    private Armed? _armed;

    /// <summary>
    /// Holds the next stake batch into <paramref name="poolId"/>'s escrow (once). Disposing the hold disarms it and lets a
    /// held answer go, so a test that fails midway leaves no hold armed for the tests after it.
    /// </summary>
    public Armed Arm(Guid poolId)
    {
        var armed = new Armed(StakeLedger.EscrowAccount(poolId), this);
        if (Interlocked.CompareExchange(ref _armed, armed, null) is not null)
        {
            throw new InvalidOperationException("Another stake hold is armed.");
        }
        return armed;
    }

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        var call = continuation(request, context);
        var armed = Volatile.Read(ref _armed);
        if (armed is null || request is not TransferBatchRequest batch || !batch.Transfers.Any(armed.Matches)
            || Interlocked.CompareExchange(ref _armed, null, armed) != armed)
        {
            return call;
        }
        return new AsyncUnaryCall<TResponse>(HoldAsync(call.ResponseAsync, armed), call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
    }

    private static async Task<TResponse> HoldAsync<TResponse>(Task<TResponse> response, Armed armed)
    {
        var answer = await response;
        armed.SetReached();
        if (!await armed.Released)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "The answer was lost (test)."));
        }
        return answer;
    }

    /// <summary>The armed hold: <see cref="Hold.Reached"/> once the ledger has applied the batch (the stakes are in escrow,
    /// the bets still pending); <see cref="Hold.LoseAnswer"/> stands for a broken connection or the caller's process dying.</summary>
    public sealed class Armed(string escrow, StakeHold owner) : Hold, IDisposable
    {
        internal bool Matches(TransferRequest transfer) =>
            transfer.Reason == StakeLedger.StakeReason && transfer.Legs.Any(l => l.ToAccount == escrow);

        public void Dispose()
        {
            Interlocked.CompareExchange(ref owner._armed, null, this);
            Release();
        }
    }
}
