using System.Diagnostics;
using Google.Protobuf;
using Microsoft.AspNetCore.Mvc;
using StreamBets.Contracts.Bets;

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
    /// A bet's body is about 120 bytes. The cap keeps one player from filling the stream all players' bets share: a
    /// relay message of <see cref="BetRelay.MaxBetsPerMessage"/> bets stays under 2.1 MB, inside gRPC's 4 MB limit.
    /// </summary>
    public const int MaxBodyBytes = 4 * 1024;

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
                type: "https://streambets.dev/problems/request-too-large",
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
            Tracestate = Activity.Current?.TraceStateString ?? "",
        };

        var answer = await relay.PlaceAsync(bet);
        if (answer is null)
        {
            http.Response.Headers.RetryAfter = "1";
            await TypedResults.Problem(
                statusCode: StatusCodes.Status503ServiceUnavailable,
                title: "Try again",
                type: "https://streambets.dev/problems/dependency-unavailable",
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
}
