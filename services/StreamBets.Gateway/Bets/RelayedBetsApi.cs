using System.Diagnostics;
using Google.Protobuf;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using StreamBets.Contracts.Bets;
using StreamBets.Gateway.Problems;

namespace StreamBets.Gateway.Bets;

/// <summary>
/// <c>POST /api/bets</c>, the one request of the last-second rush, goes to the Bet Engine through <see cref="BetRelay"/>
/// rather than the proxy; every other <c>/api/bets</c> route stays proxied. The player gets exactly the Bet Engine's
/// answer (status, body, <c>Location</c>, <c>Idempotent-Replayed</c>); only the token and the role are checked here.
/// </summary>
public static class RelayedBetsApi
{
    public const string IdempotencyKeyHeader = "Idempotency-Key";
    public const string ReplayedHeader = "Idempotent-Replayed";

    /// <summary>
    /// A bet's body is about 120 bytes. This cap and the header bounds below keep one player from filling the stream all
    /// players' bets share: a relay message of <see cref="BetRelay.MaxBetsPerMessage"/> bets stays under 3.1 MB, inside
    /// gRPC's 4 MB limit (Kestrel alone would let each bet carry 32 KB of headers).
    /// </summary>
    public const int MaxBodyBytes = 4 * 1024;

    /// <summary>Ample for any JSON media type with its parameters; the Bet Engine repeats a refused one in its answer.</summary>
    public const int MaxContentTypeLength = 256;

    /// <summary>W3C Trace Context: a vendor must pass on at least 512 characters of tracestate, and may drop the rest.</summary>
    public const int MaxTracestateLength = 512;

    public static IEndpointRouteBuilder MapRelayedBets(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/bets", RelayAsync)
            .RequireAuthorization(policy => policy.RequireRole(AuthenticationDefaults.Roles.Player))
            .WithMetadata(new RequestSizeLimitAttribute(MaxBodyBytes));
        return app;
    }

    private static async Task RelayAsync(HttpContext http, BetRelay relay)
    {
        var request = http.Request;
        if (RefuseHeaders(request) is { } refused)
        {
            await refused.ExecuteAsync(http);
            return;
        }
        using var body = new MemoryStream();
        try
        {
            await request.Body.CopyToAsync(body, http.RequestAborted);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await TypedResults.Problem(
                statusCode: StatusCodes.Status413PayloadTooLarge,
                title: "Bet too large",
                type: GatewayProblems.RequestTooLarge,
                detail: $"A bet's body is a small JSON object (poolId, outcomeId, stakeMinor); this one is over {MaxBodyBytes} bytes.")
                .ExecuteAsync(http);
            return;
        }
        var idempotencyKey = request.Headers[IdempotencyKeyHeader];
        var bet = new RestBet
        {
            UserId = http.User.GetUserId().ToString(),
            SessionId = http.User.GetSessionId()?.ToString() ?? "",
            HasIdempotencyKey = idempotencyKey.Count > 0,
            IdempotencyKey = idempotencyKey.ToString(),
            ContentType = request.ContentType ?? "",
            Body = UnsafeByteOperations.UnsafeWrap(body.GetBuffer().AsMemory(0, (int)body.Length)),
            Traceparent = Activity.Current?.Id ?? "",
            // Dropped whole rather than cut: a cut list member would be corrupt.
            Tracestate = Activity.Current?.TraceStateString is { Length: <= MaxTracestateLength } tracestate ? tracestate : "",
        };

        var answer = await relay.PlaceAsync(bet, http.RequestAborted);
        if (http.RequestAborted.IsCancellationRequested)
        {
            return; // the player left: nothing is read, and the relay has cancelled the bet unless its batch had taken it
        }
        if (answer is null)
        {
            http.Response.Headers.RetryAfter = "1";
            await TypedResults.Problem(
                statusCode: StatusCodes.Status503ServiceUnavailable,
                title: "Try again",
                type: GatewayProblems.DependencyUnavailable,
                detail: "The Bet Engine did not answer, so this bet may or may not be placed; send it again with the same Idempotency-Key to learn which.")
                .ExecuteAsync(http);
            return;
        }

        var response = http.Response;
        response.StatusCode = answer.Status;
        if (answer.ContentType.Length > 0)
        {
            response.ContentType = answer.ContentType;
        }
        if (answer.Location.Length > 0)
        {
            response.Headers.Location = answer.Location;
        }
        if (answer.Replayed)
        {
            response.Headers[ReplayedHeader] = "true";
        }
        response.ContentLength = answer.Body.Length;
        await response.Body.WriteAsync(answer.Body.Memory, http.RequestAborted);
    }

    /// <summary>
    /// Headers that would carry kilobytes into the relay message: the Bet Engine refuses such a bet anyway, but only once
    /// the message has arrived, and enough of them in one message fail the whole stream. A key the Bet Engine would
    /// refuse gets its very answer (the same rule, problem type and words); a missing one is left to it to refuse.
    /// </summary>
    private static IResult? RefuseHeaders(HttpRequest request)
    {
        var keys = request.Headers[IdempotencyKeyHeader];
        if (keys.Count > 1)
        {
            return InvalidKey($"Send one {IdempotencyKeyHeader} header per bet, not {keys.Count}.");
        }
        if (keys.Count == 1 && !BetIdempotencyKey.IsWellFormed(keys[0]))
        {
            return InvalidKey(BetIdempotencyKey.Rule);
        }
        if (request.ContentType is { Length: > MaxContentTypeLength })
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status415UnsupportedMediaType,
                title: "The request could not be read.",
                type: GatewayProblems.UnsupportedMediaType,
                detail: $"The Content-Type is over {MaxContentTypeLength} characters; a bet is JSON: send application/json.");
        }
        return null;
    }

    private static ValidationProblem InvalidKey(string rule) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [IdempotencyKeyHeader] = [rule] }, title: "Invalid bet", type: GatewayProblems.InvalidRequest);
}
