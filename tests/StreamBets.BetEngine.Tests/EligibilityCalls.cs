using System.Collections.Concurrent;
using Grpc.Core;
using Grpc.Core.Interceptors;
using StreamBets.Contracts.Users;

namespace StreamBets.BetEngine.Tests;

/// <summary>Sits on the Bet Engine's UserAccounts client and records the user ids of every CheckEligibilityBatch it sends;
/// a test can make the next one fail as if Users were down.</summary>
public sealed class EligibilityCalls : Interceptor
{
    private readonly ConcurrentQueue<Guid[]> _calls = new();
    private int _failNext;

    /// <summary>The next CheckEligibilityBatch fails with UNAVAILABLE without reaching Users.</summary>
    public void FailNext() => Volatile.Write(ref _failNext, 1);

    /// <summary>One entry per call, in the order they were sent.</summary>
    public IReadOnlyList<Guid[]> Sent => [.. _calls];

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        if (request is CheckEligibilityBatchRequest batch)
        {
            _calls.Enqueue([.. batch.Checks.Select(c => Guid.Parse(c.UserId))]);
            if (Interlocked.Exchange(ref _failNext, 0) == 1)
            {
                var down = new RpcException(new Status(StatusCode.Unavailable, "Users is down (test)."));
                return new AsyncUnaryCall<TResponse>(Task.FromException<TResponse>(down), Task.FromResult(new Metadata()), () => down.Status, () => [], () => { });
            }
        }
        return continuation(request, context);
    }
}
