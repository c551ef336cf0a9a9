using System.Diagnostics.Metrics;
using System.Threading.Channels;
using StreamBets.Contracts.Bets;
using BetEngineClient = StreamBets.Contracts.Bets.BetEngine.BetEngineClient;

namespace StreamBets.Gateway.Bets;

/// <summary>
/// Carries the players' bets to the Bet Engine in batches (bets.proto <c>RelayRestBets</c>): the rush before a lock
/// costs one internal call per batch, not one proxied request per bet. Nothing waits to fill a batch: a call takes
/// every bet queued when a call slot is free, so a lone bet goes at once and batches grow only while the Bet Engine
/// is busy with earlier ones.
/// </summary>
public sealed partial class BetRelay(BetEngineClient betEngine, ILogger<BetRelay> logger) : BackgroundService
{
    public const int MaxBetsPerCall = 500;
    public const int MaxCallsInFlight = 8;
    public const string MeterName = "StreamBets.Gateway";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Histogram<int> BetsPerCall = Meter.CreateHistogram<int>(
        "streambets.gateway.relayed_bets_per_call", description: "Bets carried by one RelayRestBets call to the Bet Engine.");
    private static readonly Counter<long> BetsUnanswered = Meter.CreateCounter<long>(
        "streambets.gateway.relayed_bets_unanswered", description: "Bets whose call failed, answered 503 to retry with the same key.");

    private readonly SemaphoreSlim _callSlots = new(MaxCallsInFlight);
    private readonly Channel<Waiting> _queue = Channel.CreateUnbounded<Waiting>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>The Bet Engine's answer to this bet, or null when it could not be asked or did not answer.</summary>
    public Task<RestBetAnswer?> PlaceAsync(RestBet bet)
    {
        var waiting = new Waiting(bet, new TaskCompletionSource<RestBetAnswer?>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_queue.Writer.TryWrite(waiting))
        {
            waiting.Answer.SetResult(null); // shutting down
        }
        return waiting.Answer.Task;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                await _callSlots.WaitAsync(stoppingToken);
                var batch = new List<Waiting>();
                while (batch.Count < MaxBetsPerCall && _queue.Reader.TryRead(out var next))
                {
                    batch.Add(next);
                }
                _ = SendAsync(batch);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            _queue.Writer.TryComplete();
            while (_queue.Reader.TryRead(out var left))
            {
                left.Answer.TrySetResult(null);
            }
        }
    }

    private async Task SendAsync(List<Waiting> batch)
    {
        try
        {
            BetsPerCall.Record(batch.Count);
            var request = new RestBetBatch();
            foreach (var waiting in batch)
            {
                request.Bets.Add(waiting.Bet);
            }
            // Not cancelled with the players' requests: once sent, a bet completes, and its answer waits for a retry.
            var reply = await betEngine.RelayRestBetsAsync(request);
            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].Answer.TrySetResult(i < reply.Answers.Count ? reply.Answers[i] : null);
            }
        }
        catch (Exception e)
        {
            // Whatever went wrong, every player waiting on this call gets an answer.
            LogCallFailed(logger, e, batch.Count);
            BetsUnanswered.Add(batch.Count);
            foreach (var waiting in batch)
            {
                waiting.Answer.TrySetResult(null);
            }
        }
        finally
        {
            _callSlots.Release();
        }
    }

    private sealed record Waiting(RestBet Bet, TaskCompletionSource<RestBetAnswer?> Answer);

    [LoggerMessage(EventId = 1, EventName = "BetRelayFailed", Level = LogLevel.Warning,
        Message = "The Bet Engine did not answer a batch of {Count} bets; each player is told to retry with the same Idempotency-Key")]
    private static partial void LogCallFailed(ILogger logger, Exception exception, int count);
}
