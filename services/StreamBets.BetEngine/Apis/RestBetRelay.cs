using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Claims;
using System.Threading.Channels;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Http.Features;
using StreamBets.BetEngine.Placement;
using StreamBets.Contracts.Bets;

namespace StreamBets.BetEngine.Apis;

/// <summary>
/// Answers the <c>POST /api/bets</c> requests the Gateway relays over one stream (bets.proto <c>RelayRestBets</c>): each
/// runs through the very endpoint players would reach over HTTP, behind the same problem-details exception handler and
/// charset check, on an in-memory request. So a relayed bet is judged, answered and refused exactly as a direct one, and
/// only the per-request HTTP work (a connection's parsing, the token check the Gateway already made) is left out. Each
/// bet's request is aborted when the stream fails or the Gateway cancels that bet (its player left), so a bet its batch
/// has not begun writing is dropped unwritten, as a direct request's would be.
/// </summary>
public sealed class RestBetRelay
{
    public const string PlaceBetEndpointName = "PlaceBet";
    private const int MaxAnswersPerMessage = 500;

    /// <summary>
    /// A message stops taking answers at about this size, a quarter of the Gateway client's 4 MB receive limit: a message
    /// past that limit fails the stream and every bet waiting on it, and the answers' sizes are the endpoint's, not ours.
    /// </summary>
    private const int MaxAnswerBytesPerMessage = 1024 * 1024;

    private readonly Lazy<RequestDelegate> _placeBet;
    private readonly IServiceScopeFactory _scopes;
    private readonly CancellationToken _stopping;

    public RestBetRelay(IServiceProvider services, EndpointDataSource endpoints)
    {
        _scopes = services.GetRequiredService<IServiceScopeFactory>();
        _stopping = services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        // Built on first use: the endpoints exist only once the app has mapped them.
        _placeBet = new Lazy<RequestDelegate>(() =>
        {
            var endpoint = endpoints.Endpoints.Single(candidate =>
                candidate.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName == PlaceBetEndpointName);
            var pipeline = new ApplicationBuilder(services);
            pipeline.UseExceptionHandler();
            // Not left to the Gateway's own check: without it a charset .NET does not know was a 500 here.
            pipeline.Use(ProblemDetailsDefaults.RefuseUnknownCharsetAsync);
            pipeline.Run(endpoint.RequestDelegate!);
            return pipeline.Build();
        });
    }

    /// <summary>
    /// Answers every bet read from <paramref name="bets"/> as soon as it is decided, grouping the answers ready together
    /// into one message; returns once the caller has ended its side, or this Bet Engine begins to stop, and every bet read
    /// has its answer. Ending normally is the promise the Gateway relies on: every bet unanswered then was never read, so
    /// it may go again on another stream.
    /// </summary>
    public async Task RelayAsync(IAsyncStreamReader<RestBetBatch> bets, IServerStreamWriter<RestBetAnswers> answers, CancellationToken cancellationToken)
    {
        if (_stopping.IsCancellationRequested)
        {
            // Ended at once without reading, the stream would send the Gateway's bets straight back, over and over while
            // the host still listens. Refused, its bets are told to retry and the next stream finds a live replica.
            throw new RpcException(new Status(StatusCode.Unavailable, "The Bet Engine is stopping."));
        }
        var ready = Channel.CreateUnbounded<RestBetAnswer>(new UnboundedChannelOptions { SingleReader = true });
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // Stopping ends the reading only: the bets already read are still answered, on this stream, before it ends.
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(failed.Token, _stopping);
        var writing = WriteAnswersAsync(ready.Reader, answers, failed);
        // Each bet's RequestAborted while it is answered, by relay id, for the Gateway's cancels. One source per bet, never
        // reused: a component still holding an answered bet's token must never see another bet's cancel.
        var callers = new ConcurrentDictionary<ulong, CancellationTokenSource>();
        using var failing = failed.Token.UnsafeRegister(_ =>
        {
            foreach (var (_, callerGone) in callers)
            {
                try
                {
                    callerGone.Cancel();
                }
                catch (AggregateException)
                {
                    // One bet's callback failed: the others must still be cancelled, as each is a bet told to retry.
                }
            }
        }, null);
        var unanswered = 1; // the caller's side, until it ends
        void Answered()
        {
            if (Interlocked.Decrement(ref unanswered) == 0)
            {
                ready.Writer.TryComplete();
            }
        }

        try
        {
            await foreach (var batch in bets.ReadAllAsync(reading.Token))
            {
                foreach (var bet in batch.Bets)
                {
                    Interlocked.Increment(ref unanswered);
                    var callerGone = new CancellationTokenSource();
                    callers[bet.RelayId] = callerGone;
                    if (failed.IsCancellationRequested)
                    {
                        callerGone.Cancel(); // added after the stream's failure cancelled the others
                    }
                    _ = AnswerIntoAsync(bet, callerGone);
                }
                foreach (var relayId in batch.CancelledRelayIds)
                {
                    // Not cancelled inline: a callback may cancel a database command, and this loop reads every bet of
                    // the stream.
                    if (callers.TryRemove(relayId, out var callerGone))
                    {
                        _ = callerGone.CancelAsync();
                    }
                }
            }
        }
        catch (OperationCanceledException) when (failed.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // The answers could not be written; awaiting the writer below fails the stream with the reason.
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested && !failed.IsCancellationRequested)
        {
            // This replica is stopping: the Gateway's next stream goes to a live one, well inside the host's shutdown timeout.
        }
        finally
        {
            Answered();
        }
        await writing;

        async Task AnswerIntoAsync(RestBet bet, CancellationTokenSource callerGone)
        {
            try
            {
                // A scope per bet, as a request of its own would have: the stream lives as long as the Gateway.
                await using var scope = _scopes.CreateAsyncScope();
                ready.Writer.TryWrite(await AnswerAsync(bet, scope.ServiceProvider, callerGone.Token));
            }
            catch (Exception) when (failed.IsCancellationRequested)
            {
                // The stream is gone; the caller retries this bet with its idempotency key.
            }
            catch (OperationCanceledException) when (callerGone.IsCancellationRequested)
            {
                // Cancelled by the Gateway: its player left, and no one reads an answer.
            }
            catch (Exception e)
            {
                // Not a rejection (the endpoint answers those, and its own failures, as problem details): this bet
                // cannot be answered, so the stream fails and the caller tells each unanswered player to retry.
                ready.Writer.TryComplete(e);
            }
            finally
            {
                // Not disposed: the stream's failure may be cancelling it right now (a source with no timer needs none).
                callers.TryRemove(new KeyValuePair<ulong, CancellationTokenSource>(bet.RelayId, callerGone));
                Answered();
            }
        }
    }

    private static async Task WriteAnswersAsync(ChannelReader<RestBetAnswer> ready, IServerStreamWriter<RestBetAnswers> answers, CancellationTokenSource failed)
    {
        try
        {
            while (await ready.WaitToReadAsync(failed.Token))
            {
                var message = new RestBetAnswers();
                var bytes = 0;
                while (message.Answers.Count < MaxAnswersPerMessage && ready.TryPeek(out var answer))
                {
                    var size = SizeInMessage(answer);
                    if (message.Answers.Count > 0 && bytes + size > MaxAnswerBytesPerMessage)
                    {
                        break; // it goes first in the next message
                    }
                    ready.TryRead(out _);
                    message.Answers.Add(answer);
                    bytes += size;
                }
                await answers.WriteAsync(message, failed.Token);
            }
        }
        catch
        {
            await failed.CancelAsync(); // no more bets are read, nor answered
            throw;
        }
    }

    /// <summary>The bytes <paramref name="answer"/> adds to a message: itself, its length and its field tag.</summary>
    private static int SizeInMessage(RestBetAnswer answer) =>
        CodedOutputStream.ComputeMessageSize(answer) + CodedOutputStream.ComputeTagSize(RestBetAnswers.AnswersFieldNumber);

    private async Task<RestBetAnswer> AnswerAsync(RestBet bet, IServiceProvider services, CancellationToken cancellationToken)
    {
        // The player's request at the Gateway is this bet's parent, so one trace follows it across the batch.
        ActivityContext.TryParse(bet.Traceparent, bet.Tracestate, isRemote: true, out var parent);
        using var activity = BetBatchPipeline.ActivitySource.StartActivity("relayed POST /api/bets", ActivityKind.Server, parent);

        var http = new DefaultHttpContext { RequestServices = services, RequestAborted = cancellationToken };
        var request = http.Request;
        request.Method = HttpMethods.Post;
        request.Scheme = Uri.UriSchemeHttp;
        request.Path = "/api/bets";
        if (bet.ContentType.Length > 0)
        {
            request.ContentType = bet.ContentType;
        }
        if (bet.HasIdempotencyKey)
        {
            request.Headers[BetsApi.IdempotencyKeyHeader] = bet.IdempotencyKey;
        }
        var body = MemoryMarshal.TryGetArray(bet.Body.Memory, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(bet.Body.ToByteArray(), writable: false);
        request.Body = body;
        request.ContentLength = body.Length;
        http.Features.Set<IHttpRequestBodyDetectionFeature>(new BodyDetection(body.Length > 0));

        var answerBody = new MemoryStream();
        http.Response.Body = answerBody;
        if (PlayerOf(bet) is { } player)
        {
            http.User = player;
            await _placeBet.Value(http);
        }
        else
        {
            // The ids come from the Gateway's checked token; anything else is the caller's bug, and only this bet's.
            await TypedResults.ValidationProblem(
                new Dictionary<string, string[]> { ["user_id"] = ["user_id and session_id must be UUIDs."] },
                title: "Invalid bet", type: BetProblems.TypeOf("invalid-request")).ExecuteAsync(http);
        }

        var response = http.Response;
        activity?.SetTag("http.response.status_code", response.StatusCode);
        return new RestBetAnswer
        {
            Status = response.StatusCode,
            ContentType = response.ContentType ?? "",
            Body = UnsafeByteOperations.UnsafeWrap(answerBody.GetBuffer().AsMemory(0, (int)answerBody.Length)), // not written again
            Location = response.Headers.Location.ToString(),
            Replayed = response.Headers[BetsApi.ReplayedHeader] == "true",
            RelayId = bet.RelayId,
        };
    }

    private static ClaimsPrincipal? PlayerOf(RestBet bet)
    {
        if (!Guid.TryParse(bet.UserId, out _) || (bet.SessionId.Length > 0 && !Guid.TryParse(bet.SessionId, out _)))
        {
            return null;
        }
        var claims = new List<Claim>
        {
            new(AuthenticationDefaults.Claims.UserId, bet.UserId),
            new(AuthenticationDefaults.Claims.Role, AuthenticationDefaults.Roles.Player),
        };
        if (bet.SessionId.Length > 0)
        {
            claims.Add(new(AuthenticationDefaults.Claims.SessionId, bet.SessionId));
        }
        return new ClaimsPrincipal(new ClaimsIdentity(claims, "gateway", AuthenticationDefaults.Claims.UserId, AuthenticationDefaults.Claims.Role));
    }

    /// <summary>What Kestrel tells minimal APIs about a request's body; without it they read none.</summary>
    private sealed class BodyDetection(bool canHaveBody) : IHttpRequestBodyDetectionFeature
    {
        public bool CanHaveBody { get; } = canHaveBody;
    }
}
