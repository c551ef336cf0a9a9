using Grpc.Core;
using Grpc.Core.Interceptors;
using StreamBets.BetEngine.Ledger;
using StreamBets.Contracts.Wallet;

namespace StreamBets.BetEngine.Tests;

/// <summary>
/// Sits on the Bet Engine's wallet client: refunds out of the escrow of a pool a test names are refused (REJECTED, as a
/// ledger that keeps refusing them, say a frozen account) and never reach the real ledger; every other transfer of the
/// call is applied and answered by it, in request order. Disposing the refusal lets the next tries through.
/// </summary>
public sealed class RefundRefusal : Interceptor
{
    private readonly HashSet<string> _refused = [];

    /// <summary>How many refunds were refused so far.</summary>
    public int Refusals { get; private set; }

    public IDisposable RefuseFrom(Guid poolId)
    {
        var escrow = StakeLedger.EscrowAccount(poolId);
        lock (_refused)
        {
            _refused.Add(escrow);
        }
        return new Release(() =>
        {
            lock (_refused)
            {
                _refused.Remove(escrow);
            }
        });
    }

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        if (request is not TransferBatchRequest batch)
        {
            return continuation(request, context);
        }
        bool[] refuse;
        lock (_refused)
        {
            refuse = [.. batch.Transfers.Select(t => t.Reason == StakeLedger.RefundReason && t.Legs.Any(l => _refused.Contains(l.FromAccount)))];
            Refusals += refuse.Count(r => r);
        }
        if (!refuse.Any(r => r))
        {
            return continuation(request, context);
        }

        var passed = new TransferBatchRequest { OmitTransfers = batch.OmitTransfers };
        passed.Transfers.AddRange(batch.Transfers.Where((_, i) => !refuse[i]));
        var call = passed.Transfers.Count > 0 ? continuation((TRequest)(object)passed, context) : null;
        return new AsyncUnaryCall<TResponse>(AnswerAsync(), Task.FromResult(new Metadata()), () => Status.DefaultSuccess, () => [], () => call?.Dispose());

        async Task<TResponse> AnswerAsync()
        {
            var applied = call is null ? [] : ((TransferBatchReply)(object)await call.ResponseAsync).Results.ToList();
            var reply = new TransferBatchReply();
            var next = 0;
            for (var i = 0; i < refuse.Length; i++)
            {
                reply.Results.Add(refuse[i]
                    ? new TransferResult
                    {
                        TransferId = batch.Transfers[i].TransferId,
                        Status = TransferStatus.Rejected,
                        ErrorReason = "account-frozen",
                        ErrorDetail = "Refused by the test.",
                    }
                    : applied[next++]);
            }
            return (TResponse)(object)reply;
        }
    }

    private sealed class Release(Action release) : IDisposable
    {
        public void Dispose() => release();
    }
}
