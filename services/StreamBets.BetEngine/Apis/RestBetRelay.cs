using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Claims;
using Google.Protobuf;
using Microsoft.AspNetCore.Http.Features;
using StreamBets.BetEngine.Placement;
using StreamBets.Contracts.Bets;

namespace StreamBets.BetEngine.Apis;

/// <summary>
/// Answers the <c>POST /api/bets</c> requests the Gateway relays in batches (bets.proto <c>RelayRestBets</c>): each
/// runs through the very endpoint players would reach over HTTP, behind the same problem-details exception handler,
/// on an in-memory request. So a relayed bet is judged, answered and refused exactly as a direct one, and only the
/// per-request HTTP work (a connection's parsing, the token check the Gateway already made) is left out.
/// </summary>
public sealed class RestBetRelay
{
    public const string PlaceBetEndpointName = "PlaceBet";

    private readonly Lazy<RequestDelegate> _placeBet;

    public RestBetRelay(IServiceProvider services, EndpointDataSource endpoints)
    {
        // Built on first use: the endpoints exist only once the app has mapped them.
        _placeBet = new Lazy<RequestDelegate>(() =>
        {
            var endpoint = endpoints.Endpoints.Single(candidate =>
                candidate.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName == PlaceBetEndpointName);
            var pipeline = new ApplicationBuilder(services);
            pipeline.UseExceptionHandler();
            pipeline.Run(endpoint.RequestDelegate!);
            return pipeline.Build();
        });
    }

    public async Task<RestBetAnswers> AnswerAsync(RestBetBatch batch, IServiceProvider services, CancellationToken cancellationToken)
    {
        var answers = new Task<RestBetAnswer>[batch.Bets.Count];
        for (var i = 0; i < answers.Length; i++)
        {
            answers[i] = AnswerAsync(batch.Bets[i], services, cancellationToken);
        }
        return new RestBetAnswers { Answers = { await Task.WhenAll(answers) } };
    }

    private async Task<RestBetAnswer> AnswerAsync(RestBet bet, IServiceProvider services, CancellationToken cancellationToken)
    {
        // The player's request at the Gateway is this bet's parent, so one trace follows it across the batch.
        ActivityContext.TryParse(bet.Traceparent, bet.Tracestate, isRemote: true, out var parent);
        using var activity = BetBatchPipeline.ActivitySource.StartActivity("relayed POST /api/bets", ActivityKind.Server, parent);

        var http = new DefaultHttpContext { RequestServices = services, RequestAborted = cancellationToken, User = PlayerOf(bet) };
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

        await _placeBet.Value(http);

        var response = http.Response;
        activity?.SetTag("http.response.status_code", response.StatusCode);
        return new RestBetAnswer
        {
            Status = response.StatusCode,
            ContentType = response.ContentType ?? "",
            Body = UnsafeByteOperations.UnsafeWrap(answerBody.GetBuffer().AsMemory(0, (int)answerBody.Length)), // not written again
            Location = response.Headers.Location.ToString(),
            Replayed = response.Headers[BetsApi.ReplayedHeader] == "true",
        };
    }

    private static ClaimsPrincipal PlayerOf(RestBet bet)
    {
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
