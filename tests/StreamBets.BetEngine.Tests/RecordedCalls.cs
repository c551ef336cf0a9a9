using System.Collections.Concurrent;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace StreamBets.BetEngine.Tests;

/// <summary>Sits on a gRPC client and records every unary request of type <typeparamref name="TRequest"/> it sends;
/// a test can make the next one fail as if the server were down, or lose its answer after the server acted on it.</summary>
public sealed class RecordedCalls<TRequest> : Interceptor where TRequest : class
{
    private readonly ConcurrentQueue<TRequest> _calls = new();
    private int _failNext;
    private int _loseNextAnswer;

    /// <summary>The next such call fails with UNAVAILABLE without reaching the server.</summary>
    public void FailNext() => Volatile.Write(ref _failNext, 1);

    /// <summary>The next such call reaches the server, which does its work, but the answer is lost on the way back.</summary>
    public void LoseNextAnswer() => Volatile.Write(ref _loseNextAnswer, 1);

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
            if (Interlocked.Exchange(ref _loseNextAnswer, 0) == 1)
            {
                var call = continuation(request, context);
                var lost = call.ResponseAsync.ContinueWith<TResponse>(
                    _ => throw new RpcException(new Status(StatusCode.Unavailable, "The answer was lost (test).")), TaskScheduler.Default);
                return new AsyncUnaryCall<TResponse>(lost, call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
            }
        }
        return continuation(request, context);
    }
}
