using System.Collections.Concurrent;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace StreamBets.BetEngine.Tests;

/// <summary>Sits on a gRPC client and records every request of type <typeparamref name="TRequest"/> it sends, whether
/// a unary call or a message on a duplex stream; a test can make the next one fail as if the server were down, or lose
/// its answer after the server acted on it, or hold a stream's write as a server that stopped reading would.</summary>
public sealed class RecordedCalls<TRequest> : Interceptor where TRequest : class
{
    private readonly ConcurrentQueue<TRequest> _calls = new();
    private int _failNext;
    private int _loseNextAnswer;
    private int _holdNextWrite;
    private int _streamsOpened;

    /// <summary>The next such call or message fails with UNAVAILABLE without reaching the server (a stream breaks).</summary>
    public void FailNext() => Volatile.Write(ref _failNext, 1);

    /// <summary>The next such call or message reaches the server, which does its work, but the answer is lost on the
    /// way back (a stream breaks instead of delivering its next answer).</summary>
    public void LoseNextAnswer() => Volatile.Write(ref _loseNextAnswer, 1);

    /// <summary>The next message written on a duplex stream never reaches the server, and its write does not complete
    /// until the stream is disposed: a server that stopped reading, its flow-control window full.</summary>
    public void HoldNextWrite() => Volatile.Write(ref _holdNextWrite, 1);

    /// <summary>One entry per call or stream message, in the order they were sent.</summary>
    public IReadOnlyList<TRequest> Sent => [.. _calls];

    /// <summary>How many duplex streams carrying <typeparamref name="TRequest"/> were opened.</summary>
    public int StreamsOpened => Volatile.Read(ref _streamsOpened);

    private static RpcException Down() => new(new Status(StatusCode.Unavailable, "The server is down (test)."));

    private static RpcException Lost() => new(new Status(StatusCode.Unavailable, "The answer was lost (test)."));

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TAnyRequest, TResponse>(
        TAnyRequest request, ClientInterceptorContext<TAnyRequest, TResponse> context, AsyncUnaryCallContinuation<TAnyRequest, TResponse> continuation)
    {
        if (request is TRequest recorded)
        {
            _calls.Enqueue(recorded);
            if (Interlocked.Exchange(ref _failNext, 0) == 1)
            {
                var down = Down();
                return new AsyncUnaryCall<TResponse>(Task.FromException<TResponse>(down), Task.FromResult(new Metadata()), () => down.Status, () => [], () => { });
            }
            if (Interlocked.Exchange(ref _loseNextAnswer, 0) == 1)
            {
                var call = continuation(request, context);
                var lost = call.ResponseAsync.ContinueWith<TResponse>(_ => throw Lost(), TaskScheduler.Default);
                return new AsyncUnaryCall<TResponse>(lost, call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
            }
        }
        return continuation(request, context);
    }

    public override AsyncDuplexStreamingCall<TAnyRequest, TResponse> AsyncDuplexStreamingCall<TAnyRequest, TResponse>(
        ClientInterceptorContext<TAnyRequest, TResponse> context, AsyncDuplexStreamingCallContinuation<TAnyRequest, TResponse> continuation)
    {
        var call = continuation(context);
        if (typeof(TAnyRequest) != typeof(TRequest))
        {
            return call;
        }
        Interlocked.Increment(ref _streamsOpened);
        var stream = new RecordedStream<TAnyRequest, TResponse>(this, call);
        return new AsyncDuplexStreamingCall<TAnyRequest, TResponse>(stream, stream, call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, stream.Dispose);
    }

    /// <summary>Both ends of one duplex stream as the client sees them, with the failures a test asked for.</summary>
    private sealed class RecordedStream<TAnyRequest, TResponse>(RecordedCalls<TRequest> recorder, AsyncDuplexStreamingCall<TAnyRequest, TResponse> call)
        : IClientStreamWriter<TAnyRequest>, IAsyncStreamReader<TResponse>
    {
        private readonly TaskCompletionSource _disposed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _loseNextAnswer;

        public WriteOptions? WriteOptions
        {
            get => call.RequestStream.WriteOptions;
            set => call.RequestStream.WriteOptions = value;
        }

        public TResponse Current => call.ResponseStream.Current;

        public Task WriteAsync(TAnyRequest message)
        {
            recorder._calls.Enqueue((TRequest)(object)message!);
            if (Interlocked.Exchange(ref recorder._failNext, 0) == 1)
            {
                call.Dispose();
                return Task.FromException(Down());
            }
            if (Interlocked.Exchange(ref recorder._loseNextAnswer, 0) == 1)
            {
                Volatile.Write(ref _loseNextAnswer, 1);
            }
            if (Interlocked.Exchange(ref recorder._holdNextWrite, 0) == 1)
            {
                return HeldAsync();
            }
            return call.RequestStream.WriteAsync(message);
        }

        public void Dispose()
        {
            _disposed.TrySetResult();
            call.Dispose();
        }

        private async Task HeldAsync()
        {
            await _disposed.Task;
            throw new RpcException(new Status(StatusCode.Cancelled, "The stream was disposed while its write was held (test)."));
        }

        public Task CompleteAsync() => call.RequestStream.CompleteAsync();

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            var more = await call.ResponseStream.MoveNext(cancellationToken);
            if (more && Interlocked.Exchange(ref _loseNextAnswer, 0) == 1)
            {
                call.Dispose();
                throw Lost();
            }
            return more;
        }
    }
}
