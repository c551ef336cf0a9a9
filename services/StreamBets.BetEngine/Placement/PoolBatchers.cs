using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Microsoft.Extensions.Options;

namespace StreamBets.BetEngine.Placement;

/// <summary>
/// One in-process batcher per pool: a bounded channel that bets of that pool queue on, and a single loop that takes up
/// to <see cref="BetEngineOptions.BatchMaxSize"/> of them (waiting at most <see cref="BetEngineOptions.BatchMaxDelay"/>
/// for a batch to fill) and commits them together through <see cref="BetBatchPipeline"/>. While one batch commits, the
/// next one fills, so the batch size grows with the load and the pool's escrow row is written once per batch.
/// A pool's batches run one after another, which also keeps the one-outcome pre-check exact within this process.
/// <para>
/// A bet whose caller stops waiting (its request cancelled: a closed connection, a gRPC deadline, the Gateway's relay
/// stream dropped at its deadline) before a batch begins writing it is dropped unwritten: nothing of it exists, so a
/// retry on any replica is judged afresh and can never be contradicted by this queued copy being placed later.
/// </para>
/// </summary>
public sealed partial class PoolBatchers : IAsyncDisposable
{
    // One per replica (tests build more beside it): the gauge sums the queues of every one alive in the process.
    private static readonly ConcurrentDictionary<PoolBatchers, byte> Running = new();

    private static readonly ObservableGauge<long> QueuedGauge = BetBatchPipeline.Meter.CreateObservableGauge(
        "streambets.bets.queued", () => Running.Keys.Sum(batchers => (long)batchers.QueuedBets()), "{bet}",
        "Bets waiting in this replica's pool queues for a batch to take them, all pools summed. It climbs before PoolQueueFull refusals start.");

    private static readonly Counter<long> TurnedAway = BetBatchPipeline.Meter.CreateCounter<long>(
        "streambets.bets.turned_away", "{bet}",
        "Bets a pool's queue refused 503 at once (MaxQueuedBetsPerPool waiting, or its oldest waiting MaxQueueWait): players told to retry.");

    /// <summary>PoolQueueFull is logged at most this often per pool: in a rush every refused bet would log one.</summary>
    private static readonly TimeSpan RefusalLogInterval = TimeSpan.FromSeconds(10);

    private readonly BetBatchPipeline _pipeline;
    private readonly BetEngineOptions _options;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<Guid, PoolBatcher> _batchers = new();
    private readonly CancellationTokenSource _stopping = new();

    public PoolBatchers(BetBatchPipeline pipeline, IOptions<BetEngineOptions> options, ILogger<PoolBatchers> logger)
    {
        _pipeline = pipeline;
        _options = options.Value;
        _logger = logger;
        Running.TryAdd(this, 0);
    }

    /// <summary>
    /// Queues an admitted bet; the task completes with its own answer once its batch committed, or is cancelled when
    /// <paramref name="callerGone"/> fires before a batch began writing the bet (nothing was written). A full queue
    /// answers <see cref="Busy"/> at once: nothing was placed.
    /// </summary>
    public Task<PlacementResult> EnqueueAsync(AdmittedBet bet, CancellationToken callerGone = default)
    {
        ObjectDisposedException.ThrowIf(_stopping.IsCancellationRequested, this);
        if (callerGone.IsCancellationRequested)
        {
            return Task.FromCanceled<PlacementResult>(callerGone);
        }
        while (true)
        {
            var batcher = _batchers.GetOrAdd(bet.Command.PoolId, poolId => new PoolBatcher(poolId, this));
            switch (batcher.TryEnqueue(bet, callerGone, out var answer))
            {
                case Enqueued.Queued:
                    return answer;
                case Enqueued.Full:
                    TurnedAway.Add(1);
                    if (batcher.FirstRefusalInAWhile())
                    {
                        LogQueueFull(_logger, bet.Command.PoolId, _options.MaxQueuedBetsPerPool, _options.MaxQueueWait);
                    }
                    return Task.FromResult(PlacementResult.Refused(Busy));
            }
            // The batcher went idle and stopped between the lookup and the write: replace it.
            _batchers.TryRemove(new KeyValuePair<Guid, PoolBatcher>(bet.Command.PoolId, batcher));
        }
    }

    /// <summary>Bets of the pool waiting for a batch to take them (not those of the batch running). Tests wait on it to
    /// know bets are queued.</summary>
    internal int QueuedBets(Guid poolId) => _batchers.TryGetValue(poolId, out var batcher) ? batcher.Queued : 0;

    /// <summary>Bets of every pool waiting for a batch, read when the gauge is collected (never per bet). Enumerating the
    /// dictionary takes none of its locks.</summary>
    internal int QueuedBets()
    {
        var queued = 0;
        foreach (var (_, batcher) in _batchers)
        {
            queued += batcher.Queued;
        }
        return queued;
    }

    /// <summary>One instance, so the placement tells this refusal from others by reference, not by its words.</summary>
    internal static readonly BetRejection Busy = new(BetRejectionCodes.DependencyUnavailable,
        "The Bet Engine has too many bets of this pool waiting. Nothing was placed; retry with the same Idempotency-Key.");

    public async ValueTask DisposeAsync()
    {
        Running.TryRemove(this, out _);
        await _stopping.CancelAsync();
        foreach (var batcher in _batchers.Values)
        {
            await batcher.StopAsync();
        }
        _stopping.Dispose();
    }

    private enum Enqueued
    {
        Queued,
        Full,
        Closed,
    }

    /// <summary>A queued bet. <paramref name="caller"/> is the span of the request that placed it, linked to the batch
    /// that answers it; <paramref name="callerGone"/> drops it, unwritten, if it fires before a batch takes the bet.</summary>
    private sealed class Work
    {
        private const int Waiting = 0, Taken = 1, Dropped = 2;
        private readonly CancellationTokenRegistration _callerGone;
        private int _state;

        public Work(AdmittedBet bet, Activity? caller, CancellationToken callerGone)
        {
            Bet = bet;
            Caller = caller;
            _callerGone = callerGone.UnsafeRegister(static (work, token) => ((Work)work!).Drop(token), this);
        }

        public AdmittedBet Bet { get; }
        public Activity? Caller { get; }
        public long QueuedAt { get; } = Stopwatch.GetTimestamp();
        public TaskCompletionSource<PlacementResult> Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>A batch is about to write the bet: from now on it completes whoever waits. False when it was dropped.</summary>
        public bool TryTake()
        {
            if (Interlocked.CompareExchange(ref _state, Taken, Waiting) != Waiting)
            {
                return false;
            }
            _callerGone.Unregister();
            return true;
        }

        /// <summary>The bet was never queued.</summary>
        public void Forget() => _callerGone.Unregister();

        private void Drop(CancellationToken token)
        {
            if (Interlocked.CompareExchange(ref _state, Dropped, Waiting) == Waiting)
            {
                Answer.TrySetCanceled(token);
            }
        }
    }

    private sealed class PoolBatcher
    {
        private readonly Guid _poolId;
        private readonly PoolBatchers _owner;
        // Bounded: under overload a pool's queue must not grow without end (each bet holds its caller's request).
        private readonly Channel<Work> _queue;
        private readonly Lock _gate = new();
        private readonly Task _loop;
        private bool _closed;
        private long _lastRefusalLogged; // a Stopwatch timestamp; 0 before the first

        public PoolBatcher(Guid poolId, PoolBatchers owner)
        {
            _poolId = poolId;
            _owner = owner;
            _queue = Channel.CreateBounded<Work>(new BoundedChannelOptions(owner._options.MaxQueuedBetsPerPool) { FullMode = BoundedChannelFullMode.Wait });
            // Without the creating request's context: each batch is a trace of its own, not a child of the first bet.
            using (ExecutionContext.SuppressFlow())
            {
                _loop = Task.Run(RunAsync);
            }
        }

        public int Queued => _queue.Reader.Count;

        public Enqueued TryEnqueue(AdmittedBet bet, CancellationToken callerGone, out Task<PlacementResult> answer)
        {
            var work = new Work(bet, Activity.Current, callerGone);
            answer = work.Answer.Task;
            lock (_gate)
            {
                var enqueued = _closed ? Enqueued.Closed
                    : TooSlow() || !_queue.Writer.TryWrite(work) ? Enqueued.Full
                    : Enqueued.Queued;
                if (enqueued != Enqueued.Queued)
                {
                    work.Forget();
                }
                return enqueued;
            }
        }

        /// <summary>The oldest bet waiting has waited <see cref="BetEngineOptions.MaxQueueWait"/> (real time, as the
        /// Gateway's deadline is): one queued now would likely wait longer.</summary>
        private bool TooSlow() =>
            _queue.Reader.TryPeek(out var oldest) && Stopwatch.GetElapsedTime(oldest.QueuedAt) >= _owner._options.MaxQueueWait;

        /// <summary>True for the first refusal, then at most once per <see cref="RefusalLogInterval"/>.</summary>
        public bool FirstRefusalInAWhile()
        {
            var now = Stopwatch.GetTimestamp();
            var last = Volatile.Read(ref _lastRefusalLogged);
            return (last == 0 || Stopwatch.GetElapsedTime(last, now) >= RefusalLogInterval)
                && Interlocked.CompareExchange(ref _lastRefusalLogged, now, last) == last;
        }

        public async Task StopAsync()
        {
            lock (_gate)
            {
                _closed = true;
                _queue.Writer.TryComplete();
            }
            await _loop;
        }

        private async Task RunAsync()
        {
            var options = _owner._options;
            var reader = _queue.Reader;
            var batch = new List<Work>(options.BatchMaxSize);
            while (true)
            {
                if (!reader.TryPeek(out _) && !await WaitForWorkAsync(reader, options.BatcherIdleTimeout))
                {
                    lock (_gate)
                    {
                        if (reader.Count == 0)
                        {
                            _closed = true;
                            _queue.Writer.TryComplete();
                            _owner._batchers.TryRemove(new KeyValuePair<Guid, PoolBatcher>(_poolId, this));
                            return;
                        }
                    }
                }

                batch.Clear();
                Drain(reader, batch, options.BatchMaxSize);
                if (batch.Count < options.BatchMaxSize && options.BatchMaxDelay > TimeSpan.Zero)
                {
                    await FillAsync(reader, batch, options.BatchMaxSize, options.BatchMaxDelay);
                }
                if (batch.Count > 0)
                {
                    await ProcessAsync(batch);
                }
            }
        }

        private async Task ProcessAsync(List<Work> batch)
        {
            // The last moment a caller's leaving drops its bet: the batch writes the rest now.
            batch.RemoveAll(work => !work.TryTake());
            if (batch.Count == 0)
            {
                return;
            }
            try
            {
                await _owner._pipeline.RunAsync(_poolId, [.. batch.Select(w => w.Bet)], results =>
                {
                    // Called inside the "bet batch" span: each bet's request links to it.
                    var batchSpan = Activity.Current?.Context;
                    for (var i = 0; i < batch.Count; i++)
                    {
                        if (batchSpan is { } span)
                        {
                            batch[i].Caller?.AddLink(new ActivityLink(span));
                        }
                        batch[i].Answer.TrySetResult(results[i]);
                    }
                }, CancellationToken.None);
            }
            catch (Exception e)
            {
                // The pipeline logged it (BatchFailed) inside the batch's span.
                foreach (var work in batch)
                {
                    work.Answer.TrySetException(e);
                }
            }
        }

        private static void Drain(ChannelReader<Work> reader, List<Work> batch, int max)
        {
            while (batch.Count < max && reader.TryRead(out var work))
            {
                batch.Add(work);
            }
        }

        /// <summary>Waits (in real time: this is a throughput knob, not a business rule) for the batch to fill.</summary>
        private static async Task FillAsync(ChannelReader<Work> reader, List<Work> batch, int max, TimeSpan maxDelay)
        {
            using var window = new CancellationTokenSource(maxDelay);
            try
            {
                while (batch.Count < max && await reader.WaitToReadAsync(window.Token))
                {
                    Drain(reader, batch, max);
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        /// <returns>False when nothing arrived within <paramref name="idle"/> (or the queue completed).</returns>
        private static async Task<bool> WaitForWorkAsync(ChannelReader<Work> reader, TimeSpan idle)
        {
            using var timeout = new CancellationTokenSource(idle);
            try
            {
                return await reader.WaitToReadAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }
    }

    [LoggerMessage(EventId = 2, EventName = "PoolQueueFull", Level = LogLevel.Warning,
        Message = "Pool {PoolId} has {Limit} bets waiting for their batch, or its oldest has waited {MaxWait}; new bets are refused (503, retry; logged at most every 10 s per pool, streambets.bets.turned_away counts each)")]
    private static partial void LogQueueFull(ILogger logger, Guid poolId, int limit, TimeSpan maxWait);
}
