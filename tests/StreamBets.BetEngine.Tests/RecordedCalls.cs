using System.Collections.Concurrent;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace StreamBets.BetEngine.Tests;

/// <summary>Sits on a gRPC client and records every unary or server-streaming request of type <typeparamref name="TRequest"/>
/// it sends; a test can make the next one fail as if the server were down.</summary>
public sealed class RecordedCalls<TRequest> : Interceptor where TRequest : class
{
    private readonly ConcurrentQueue<TRequest> _calls = new();
    private int _failNext;

    /// <summary>The next such call fails with UNAVAILABLE without reaching the server.</summary>
    public void FailNext() => Volatile.Write(ref _failNext, 1);

    /// <summary>One entry per call, in the order they were sent.</summary>
    public IReadOnlyList<TRequest> Sent => [.. _calls];

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TAnyRequest, TResponse>(
        TAnyRequest request, ClientInterceptorContext<TAnyRequest, TResponse> context, AsyncUnaryCallContinuation<TAnyRequest, TResponse> continuation) =>
        Record(request) is { } down
            ? new AsyncUnaryCall<TResponse>(Task.FromException<TResponse>(down), Task.FromResult(new Metadata()), () => down.Status, () => [], () => { })
            : continuation(request, context);

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TAnyRequest, TResponse>(
        TAnyRequest request, ClientInterceptorContext<TAnyRequest, TResponse> context, AsyncServerStreamingCallContinuation<TAnyRequest, TResponse> continuation) =>
        Record(request) is { } down
            ? new AsyncServerStreamingCall<TResponse>(new Broken<TResponse>(down), Task.FromResult(new Metadata()), () => down.Status, () => [], () => { })
            : continuation(request, context);

    /// <summary>Records the request when it is one of ours; the error to fail it with when a failure was asked for.</summary>
    private RpcException? Record(object request)
    {
        if (request is not TRequest recorded)
        {
            return null;
        }
        _calls.Enqueue(recorded);
        return Interlocked.Exchange(ref _failNext, 0) == 1 ? new RpcException(new Status(StatusCode.Unavailable, "The server is down (test).")) : null;
    }

    private sealed class Broken<T>(RpcException error) : IAsyncStreamReader<T>
    {
        public T Current => throw error;

        public Task<bool> MoveNext(CancellationToken cancellationToken) => Task.FromException<bool>(error);
    }
}
