using System.Collections.Concurrent;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace StreamBets.BetEngine.Tests;

/// <summary>Sits on a gRPC client and records every unary request of type <typeparamref name="TRequest"/> it sends;
/// a test can make the next one fail as if the server were down.</summary>
public sealed class RecordedCalls<TRequest> : Interceptor where TRequest : class
{
    private readonly ConcurrentQueue<TRequest> _calls = new();
    private int _failNext;

    /// <summary>The next such call fails with UNAVAILABLE without reaching the server.</summary>
    public void FailNext() => Volatile.Write(ref _failNext, 1);

    /// <summary>One entry per call, in the order they were sent.</summary>
    public IReadOnlyList<TRequest> Sent => [.. _calls];

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TAnyRequest, TResponse>(
        TAnyRequest request, ClientInterceptorContext<TAnyRequest, TResponse> context, AsyncUnaryCallContinuation<TAnyRequest, TResponse> continuation)
    {
        if (request is TRequest recorded)
        {
            _calls.Enqueue(recorded);
            if (Interlocked.Exchange(ref _failNext, 0) == 1)
            {
                var down = new RpcException(new Status(StatusCode.Unavailable, "The server is down (test)."));
                return new AsyncUnaryCall<TResponse>(Task.FromException<TResponse>(down), Task.FromResult(new Metadata()), () => down.Status, () => [], () => { });
            }
        }
        return continuation(request, context);
    }
}
