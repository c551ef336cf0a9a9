using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Grpc.Core;
using Microsoft.Extensions.Options;
using StreamBets.Contracts.Bets;
using BetEngineClient = StreamBets.Contracts.Bets.BetEngine.BetEngineClient;

namespace StreamBets.Gateway.Bets;

/// <summary>
/// Carries the players' bets to the Bet Engine over one long-lived gRPC stream (bets.proto <c>RelayRestBets</c>): the
/// rush before a lock costs one internal message per group of bets, not one proxied request per bet. Nothing waits to
/// fill a group: each write takes every bet queued while the last one was on its way, so a lone bet goes at once.
/// Answers come back as each bet is decided, so no bet waits for another's answer. A bet left unanswered past
/// <see cref="BetRelayOptions.AnswerDeadline"/> (the Bet Engine hung, not down) drops its stream: every player waiting
/// on it is told to retry, and the next bet opens another. Dropping the stream cancels its bets at the Bet Engine, so a
/// player told to retry never finds one placed later behind their back; a player who leaves (their request aborted)
/// has their bet alone cancelled, named in the next message on the stream it went on.
/// </summary>
public sealed partial class BetRelay(BetEngineClient betEngine, IOptions<BetRelayOptions> options, TimeProvider time, ILogger<BetRelay> logger) : BackgroundService
{
    public const int MaxBetsPerMessage = 500;
    public const string MeterName = "StreamBets.Gateway";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Histogram<int> BetsPerMessage = Meter.CreateHistogram<int>(
        "streambets.gateway.relayed_bets_per_message", description: "Bets carried by one message of the RelayRestBets stream to the Bet Engine.");
    private static readonly Counter<long> BetsUnanswered = Meter.CreateCounter<long>(
        "streambets.gateway.relayed_bets_unanswered", description: "Bets the Bet Engine did not answer (its stream broke, could not open or missed the deadline), answered 503 to retry with the same key.");

    private readonly Channel<Waiting> _queue = Channel.CreateUnbounded<Waiting>(new UnboundedChannelOptions { SingleReader = true });
    private ulong _lastRelayId;
    private RelayStream? _stream; // the one being written
    private Task _ending = Task.CompletedTask; // streams retired for their age, still draining their answers

    /// <summary>
    /// The Bet Engine's answer to this bet, or null when it could not be asked or did not answer in time, or when
    /// <paramref name="playerGone"/> fired first: then the bet is never sent, or, sent, is cancelled at the Bet Engine
    /// (dropped if its batch has not begun writing it).
    /// </summary>
    public async Task<RestBetAnswer?> PlaceAsync(RestBet bet, CancellationToken playerGone = default)
    {
        var waiting = new Waiting(bet, time.GetTimestamp(), Volatile.Read(ref _stream));
        RestBetAnswer? answer = null;
        if (_queue.Writer.TryWrite(waiting)) // else shutting down
        {
            try
            {
                answer = await waiting.Answer.Task.WaitAsync(options.Value.AnswerDeadline, time, playerGone);
            }
            catch (OperationCanceledException) when (playerGone.IsCancellationRequested)
            {
                if (waiting.Answer.TrySetResult(null))
                {
                    // Queued again for the writer, which names it in its next message if it went on the stream being
                    // written; even one it is sending right now, as it had not seen this answer yet.
                    _queue.Writer.TryWrite(waiting);
                    return null; // nobody to tell to retry
                }
                answer = await waiting.Answer.Task; // the Bet Engine's, when it came as the player left: unread
            }
            catch (TimeoutException)
            {
                if (waiting.Answer.TrySetResult(null))
                {
                    // Not yet sent means the stream it queued behind is not taking writes; not the one opened since,
                    // which has had no time to take it.
                    (waiting.SentOn ?? waiting.QueuedBehind)?.Drop();
                }
                answer = await waiting.Answer.Task; // the Bet Engine's, when it came as the deadline passed
            }
        }
        if (answer is null)
        {
            BetsUnanswered.Add(1);
        }
        return answer;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            // A stream is opened when a bet comes, and again after one breaks (a Bet Engine restart, say).
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                await RelayOverOneStreamAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            _queue.Writer.TryComplete();
            TellToRetry(Queued());
            await _ending;
        }
    }

    /// <summary>
    /// Relays bets over one stream until it breaks, the Gateway stops or the stream has served its
    /// <see cref="BetRelayOptions.StreamLifetime"/>; every bet sent on it gets an answer. A stream retired for its age
    /// takes no more bets and its answers drain in the background, so the next stream opens at once.
    /// </summary>
    private async Task RelayOverOneStreamAsync(CancellationToken stoppingToken)
    {
        var unanswered = new ConcurrentDictionary<ulong, Waiting>();
        var ended = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        // Not cancelled with the Gateway's stop: bets sent complete, and their answers drain before the stream ends.
        var call = betEngine.RelayRestBets();
        var stream = new RelayStream();
        var dropping = stream.Dropped.Register(call.Dispose); // reading and writing fail, and the stream ends
        Volatile.Write(ref _stream, stream);
        var reading = ReadAnswersAsync(call.ResponseStream, unanswered, ended);
        using var aged = new CancellationTokenSource(options.Value.StreamLifetime, time);
        using var writing = CancellationTokenSource.CreateLinkedTokenSource(ended.Token, aged.Token);
        Exception? broken = null;
        var sent = false;
        try
        {
            while (await _queue.Reader.WaitToReadAsync(writing.Token))
            {
                var message = new RestBetBatch();
                while (message.Bets.Count < MaxBetsPerMessage && _queue.Reader.TryRead(out var waiting))
                {
                    if (waiting.Answer.Task.IsCompleted)
                    {
                        // Its player left, or its deadline passed while it queued (that player was told to retry). One
                        // sent on this stream is cancelled; a retired stream takes no more messages, a broken one
                        // cancelled its bets itself.
                        if (waiting.SentOn == stream)
                        {
                            message.CancelledRelayIds.Add(waiting.Bet.RelayId);
                        }
                        continue;
                    }
                    if (time.GetElapsedTime(waiting.QueuedAt) > options.Value.AnswerDeadline - MinTimeToAnswer())
                    {
                        // Sent, its deadline would drop this stream before a healthy Bet Engine could answer, and every
                        // other bet on it would be told to retry too.
                        waiting.Answer.TrySetResult(null);
                        continue;
                    }
                    waiting.Bet.RelayId = ++_lastRelayId;
                    waiting.SentOn = stream;
                    unanswered[waiting.Bet.RelayId] = waiting;
                    message.Bets.Add(waiting.Bet);
                }
                if (message.Bets.Count == 0 && message.CancelledRelayIds.Count == 0)
                {
                    continue;
                }
                if (message.Bets.Count > 0)
                {
                    BetsPerMessage.Record(message.Bets.Count);
                }
                await call.RequestStream.WriteAsync(message);
                sent = true;
            }
        }
        catch (OperationCanceledException) when (writing.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            broken = e;
        }

        // Whatever went wrong, every player waiting on this stream gets an answer. When the Bet Engine could not be
        // reached at all, so do the bets that were to open it, rather than each opening another stream that fails alike.
        var ending = EndAsync(call, reading, unanswered, refuseQueued: broken is not null && !sent, stream, broken, ended, dropping);
        if (broken is null && !ended.IsCancellationRequested)
        {
            // Retired for its age: the Bet Engine answers what it was sent while the next stream takes the new bets.
            _ending = _ending.IsCompleted ? ending : Task.WhenAll(_ending, ending);
            return;
        }
        await ending;
    }

    /// <summary>
    /// Ends the caller's side of a stream and waits for the answers still due on it. When the Bet Engine ended the stream
    /// normally (it answers every bet it read before it does, a replica that begins to stop, say), the bets left
    /// unanswered were never read, so they go again on the next stream; otherwise they may have been placed, and each
    /// player is told to retry with their Idempotency-Key.
    /// </summary>
    private async Task EndAsync(
        AsyncDuplexStreamingCall<RestBetBatch, RestBetAnswers> call, Task<Exception?> reading, ConcurrentDictionary<ulong, Waiting> unanswered,
        bool refuseQueued, RelayStream stream, Exception? broken, CancellationTokenSource ended, CancellationTokenRegistration dropping)
    {
        using (call)
        using (ended)
        using (dropping)
        {
            if (!reading.IsCompleted)
            {
                try
                {
                    await call.RequestStream.CompleteAsync();
                }
                catch (Exception)
                {
                    call.Dispose(); // the stream is broken; reading ends with it
                }
            }
            var failure = await reading;
            if (failure is null)
            {
                // A write that failed as the Bet Engine ended the stream says nothing about reaching it.
                Resend(unanswered.Values.ToList());
                return;
            }
            broken = failure;

            var toRetry = unanswered.Values.Concat(refuseQueued ? Queued() : []).ToList();
            if (stream.Dropped.IsCancellationRequested)
            {
                LogStreamStalled(logger, options.Value.AnswerDeadline, toRetry.Count);
            }
            else if (toRetry.Count > 0)
            {
                LogStreamBroken(logger, broken, toRetry.Count);
            }
            else if (broken is not null)
            {
                LogStreamEnded(logger, broken);
            }
            TellToRetry(toRetry);
        }
    }

    /// <summary>
    /// A bet is sent only with this much of its deadline left (1 s of the default 8): far more than the tens of
    /// milliseconds a healthy Bet Engine takes, so a sent bet's deadline drops only a stream that is really stuck. Only
    /// a bet that queued behind a stuck write gets this close to its deadline unsent.
    /// </summary>
    private TimeSpan MinTimeToAnswer() => options.Value.AnswerDeadline / 8;

    private IEnumerable<Waiting> Queued()
    {
        while (_queue.Reader.TryRead(out var waiting))
        {
            yield return waiting;
        }
    }

    /// <summary>Queues bets the Bet Engine never read for the next stream (or, once the Gateway stops, tells them to retry).</summary>
    private void Resend(List<Waiting> unread)
    {
        if (unread.Count > 0)
        {
            LogStreamFinished(logger, unread.Count);
        }
        foreach (var waiting in unread)
        {
            if (!_queue.Writer.TryWrite(waiting))
            {
                waiting.Answer.TrySetResult(null);
            }
        }
    }

    private static void TellToRetry(IEnumerable<Waiting> bets)
    {
        foreach (var waiting in bets)
        {
            waiting.Answer.TrySetResult(null);
        }
    }

    /// <returns>Why the stream broke, or null when the Bet Engine ended it normally, with every bet it read answered.</returns>
    private static async Task<Exception?> ReadAnswersAsync(IAsyncStreamReader<RestBetAnswers> answers, ConcurrentDictionary<ulong, Waiting> unanswered, CancellationTokenSource ended)
    {
        try
        {
            await foreach (var message in answers.ReadAllAsync())
            {
                foreach (var answer in message.Answers)
                {
                    if (unanswered.TryRemove(answer.RelayId, out var waiting))
                    {
                        waiting.Answer.TrySetResult(answer);
                    }
                }
            }
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
        finally
        {
            ended.Cancel(); // no more bets on this stream
        }
    }

    private sealed class Waiting(RestBet bet, long queuedAt, RelayStream? queuedBehind)
    {
        public RestBet Bet => bet;
        public long QueuedAt => queuedAt;
        /// <summary>The stream being written when the bet queued (none before the first).</summary>
        public RelayStream? QueuedBehind => queuedBehind;
        public TaskCompletionSource<RestBetAnswer?> Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public RelayStream? SentOn { get; set; }
    }

    /// <summary>One stream's way to be dropped from outside, by a bet that waited too long for its answer.</summary>
    private sealed class RelayStream
    {
        private readonly CancellationTokenSource _dropped = new(); // never disposed: a bet may drop its stream after it ended
        public CancellationToken Dropped => _dropped.Token;
        public void Drop() => _dropped.Cancel();
    }

    [LoggerMessage(EventId = 1, EventName = "BetRelayFailed", Level = LogLevel.Warning,
        Message = "The stream to the Bet Engine broke with {Count} bets unanswered; each player is told to retry with the same Idempotency-Key")]
    private static partial void LogStreamBroken(ILogger logger, Exception? exception, int count);

    [LoggerMessage(EventId = 3, EventName = "BetRelayStalled", Level = LogLevel.Warning,
        Message = "A bet waited {Deadline} for the Bet Engine's answer; the stream is dropped, and each of its {Count} unanswered players is told to retry with the same Idempotency-Key")]
    private static partial void LogStreamStalled(ILogger logger, TimeSpan deadline, int count);

    [LoggerMessage(EventId = 4, EventName = "BetRelayStreamFinished", Level = LogLevel.Information,
        Message = "The Bet Engine ended the stream (it is stopping, say) before reading {Count} bets; they go on the next stream")]
    private static partial void LogStreamFinished(ILogger logger, int count);

    [LoggerMessage(EventId = 2, EventName = "BetRelayStreamEnded", Level = LogLevel.Debug,
        Message = "The stream to the Bet Engine ended with every bet answered (the Bet Engine stopped, say); the next bet opens another")]
    private static partial void LogStreamEnded(ILogger logger, Exception exception);
}
