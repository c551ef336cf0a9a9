using System.Collections.Concurrent;
using Grpc.Core;
using Grpc.Core.Interceptors;
using StreamBets.Contracts.Users;

namespace StreamBets.BetEngine.Tests;

/// <summary>Sits on the Bet Engine's UserAccounts client and records the user ids of every CheckEligibilityBatch it sends.</summary>
public sealed class EligibilityCalls : Interceptor
{
    private readonly ConcurrentQueue<Guid[]> _calls = new();

    /// <summary>One entry per call, in the order they were sent.</summary>
    public IReadOnlyList<Guid[]> Sent => [.. _calls];

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        if (request is CheckEligibilityBatchRequest batch)
        {
            _calls.Enqueue([.. batch.Checks.Select(c => Guid.Parse(c.UserId))]);
        }
        return continuation(request, context);
    }
}
