using System.Globalization;
using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using StreamBets.BetEngine.Data;
using StreamBets.BetEngine.Placement;
using BetIdempotencyKey = StreamBets.Contracts.Bets.BetIdempotencyKey;

namespace StreamBets.BetEngine.Apis;

/// <param name="StakeMinor">A JSON integer only: the web defaults' "10" for 10 would let a stake through as text.</param>
public sealed record PlaceBetRequest(Guid? PoolId, Guid? OutcomeId, [property: JsonNumberHandling(JsonNumberHandling.Strict)] long? StakeMinor);

/// <summary>
/// The body of <c>POST /api/bets</c>, read by the endpoint itself: a body the framework could not read (a pool id that
/// is not a UUID, a stake in words, no body) reached the shared exception handler, whose 400 has no problem type. Read
/// here, it is answered like any other invalid bet, <c>invalid-request</c> naming the field.
/// </summary>
/// <param name="Unreadable">Why the body could not be read, by field (<c>body</c> when no field is to blame);
/// <see cref="Request"/> is then empty.</param>
public sealed record PlaceBetBody(PlaceBetRequest Request, KeyValuePair<string, string>? Unreadable = null)
{
    private const int MaxEchoedLength = 64;

    private static readonly (string Field, string Rule)[] FieldRules =
    [
        ("poolId", "The pool id is a UUID."),
        ("outcomeId", "The outcome id is a UUID."),
        ("stakeMinor", BetsApi.StakeRule),
    ];

    public static async ValueTask<PlaceBetBody> BindAsync(HttpContext http)
    {
        var request = http.Request;
        // As the framework decides whether a request has a body (the relay sets this for its in-memory requests).
        if (http.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody != true)
        {
            return Refused("body", "The request needs a JSON body.");
        }
        if (!request.HasJsonContentType())
        {
            // The framework's own words, as the routing's 415 says them for a direct request.
            throw new BadHttpRequestException($"Expected a supported JSON media type but got \"{Shortened(request.ContentType ?? "")}\".", StatusCodes.Status415UnsupportedMediaType);
        }

        try
        {
            return await request.ReadFromJsonAsync<PlaceBetRequest>(http.RequestAborted) is { } read
                ? new PlaceBetBody(read)
                : Refused("body", "The request needs a JSON object body.");
        }
        catch (JsonException e)
        {
            // The path names the field whose value could not be read ($.stakeMinor); the message, .NET's types, is not shown.
            var path = e.Path ?? "$";
            var (field, rule) = Array.Find(FieldRules, f => path.Equals($"$.{f.Field}", StringComparison.OrdinalIgnoreCase));
            return field is not null ? Refused(field, rule) : Refused("body", $"The body is not valid JSON for this request at {Shortened(path)}.");
        }
        // Not Kestrel's own refusals (BadHttpRequestException is an IOException), which keep their status: 413 for a body
        // past its limit was a 400 here. Nor a client that went away, which the exception handler answers 499.
        catch (IOException e) when (e is not BadHttpRequestException && !http.RequestAborted.IsCancellationRequested)
        {
            throw new BadHttpRequestException("Reading the request body failed.", StatusCodes.Status400BadRequest, e);
        }
    }

    private static PlaceBetBody Refused(string field, string message) =>
        new(new PlaceBetRequest(null, null, null), new KeyValuePair<string, string>(field, message));

    /// <summary>
    /// The client's own text, cut to a few dozen characters for a problem: a JSON path keeps an unknown property's name,
    /// so a 4 KB body made a 12 KB answer (U+0080, 2 bytes sent, is written \u0080), and a burst of them broke the relay
    /// stream every player's bets share.
    /// </summary>
    private static string Shortened(string text)
    {
        if (text.Length <= MaxEchoedLength)
        {
            return text;
        }
        var length = char.IsHighSurrogate(text[MaxEchoedLength - 1]) ? MaxEchoedLength - 1 : MaxEchoedLength; // never half a character
        return string.Concat(text.AsSpan(0, length), "…");
    }
}

/// <summary>A bet as its owner sees it. <c>status</c> is pending, accepted or rejected; settlement fields appear once paid.</summary>
public sealed record BetView(
    Guid BetId, Guid PoolId, Guid OutcomeId, long StakeMinor, string Status, DateTimeOffset PlacedAt,
    string? RejectionCode, string? SettledResult, long? PayoutMinor, DateTimeOffset? SettledAt)
{
    public static BetView From(BetRecord bet) => new(
        bet.BetId, bet.PoolId, bet.OutcomeId, bet.StakeMinor, BetStore.StatusText(bet.Status), bet.PlacedAt,
        bet.Rejection?.Code, bet.Settlement?.Result, bet.Settlement?.PayoutMinor, bet.Settlement?.SettledAt);
}

public sealed record BetPageView(IReadOnlyList<BetView> Items, string? NextCursor);

/// <summary>
/// /api/bets (reached through the gateway): players place bets with an Idempotency-Key and read their own bets.
/// The user id comes only from the validated token's <c>sub</c>; admins read any player's bets (support).
/// </summary>
public static class BetsApi
{
    public const string IdempotencyKeyHeader = "Idempotency-Key";
    public const string ReplayedHeader = "Idempotent-Replayed";
    public const int DefaultPageSize = 20;
    public const int MaxPageSize = 100;
    internal const string StakeRule = "The stake is a positive whole number of minor units.";

    public static IEndpointRouteBuilder MapBetsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/bets").WithTags("Bets").RequireAuthorization();
        api.MapPost("/", PlaceBetAsync).WithName(RestBetRelay.PlaceBetEndpointName).Accepts<PlaceBetRequest>("application/json")
            .RequireAuthorization(policy => policy.RequireRole(AuthenticationDefaults.Roles.Player));
        api.MapGet("/mine", ListMyBetsAsync).WithName("ListMyBets");
        api.MapGet("/{betId:guid}", GetMyBetAsync).WithName("GetMyBet");
        api.MapGet("/users/{userId:guid}", ListUserBetsAsync).WithName("ListUserBets").RequireAuthorization(AuthenticationDefaults.Policies.Admin);
        return app;
    }

    public static async Task<Results<Created<BetView>, Accepted<BetView>, ValidationProblem, ProblemHttpResult>> PlaceBetAsync(
        PlaceBetBody body,
        [FromHeader(Name = IdempotencyKeyHeader)] string? idempotencyKey,
        ClaimsPrincipal user,
        HttpContext http,
        BetPlacement placement,
        CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        if (!BetIdempotencyKey.IsWellFormed(idempotencyKey))
        {
            errors[IdempotencyKeyHeader] = [BetIdempotencyKey.Rule];
        }
        var request = body.Request;
        if (body.Unreadable is { } unreadable)
        {
            errors[unreadable.Key] = [unreadable.Value];
        }
        else
        {
            if (request.PoolId is null || request.PoolId == Guid.Empty)
            {
                errors["poolId"] = ["The pool id is required."];
            }
            if (request.OutcomeId is null || request.OutcomeId == Guid.Empty)
            {
                errors["outcomeId"] = ["The outcome id is required."];
            }
            if (request.StakeMinor is not > 0)
            {
                errors["stakeMinor"] = [StakeRule];
            }
        }
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "Invalid bet", type: BetProblems.TypeOf("invalid-request"));
        }

        var result = await placement.PlaceAsync(
            new PlaceBetCommand(user.GetUserId(), request.PoolId!.Value, request.OutcomeId!.Value, request.StakeMinor!.Value, idempotencyKey!, user.GetSessionId()),
            cancellationToken);
        if (result.Replayed)
        {
            http.Response.Headers[ReplayedHeader] = "true";
        }

        if (result.Rejection is { } rejection)
        {
            return Problem(rejection, result.Bet?.BetId);
        }
        var view = BetView.From(result.Bet!);
        var location = $"/api/bets/{view.BetId}";
        return result.Bet!.Status == BetStatus.Pending ? TypedResults.Accepted(location, view) : TypedResults.Created(location, view);
    }

    public static Task<Results<Ok<BetPageView>, ValidationProblem>> ListMyBetsAsync(
        ClaimsPrincipal user, BetStore store, string? status, string? cursor, string? limit, string? poolId, CancellationToken cancellationToken) =>
        ListUserBetsAsync(user.GetUserId(), store, status, cursor, limit, poolId, cancellationToken);

    /// <summary>A player's bets, newest first, a page at a time: their own (<c>/mine</c>), or anyone's for an admin; optionally on one pool only.</summary>
    /// <remarks><paramref name="limit"/> and <paramref name="poolId"/> are read here, not bound as int and Guid: a value the
    /// framework could not parse reached the shared exception handler, whose 400 has no problem type.</remarks>
    public static async Task<Results<Ok<BetPageView>, ValidationProblem>> ListUserBetsAsync(
        Guid userId, BetStore store, string? status, string? cursor, string? limit, string? poolId, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        BetListFilter filter = BetListFilter.All;
        if (status is not null && !TryParseFilter(status, out filter))
        {
            errors["status"] = ["The status is open or settled."];
        }
        if (!PageCursor.TryParse(cursor, out var after))
        {
            errors["cursor"] = ["The cursor is not one this service issued."];
        }
        var pageSize = DefaultPageSize;
        if (!string.IsNullOrEmpty(limit) && !(int.TryParse(limit, CultureInfo.InvariantCulture, out pageSize) && pageSize is >= 1 and <= MaxPageSize))
        {
            errors["limit"] = [$"The limit is a whole number from 1 to {MaxPageSize}."];
        }
        Guid? pool = null;
        if (!string.IsNullOrEmpty(poolId))
        {
            if (Guid.TryParse(poolId, out var id))
            {
                pool = id;
            }
            else
            {
                errors["poolId"] = ["The pool id is a UUID."];
            }
        }
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "Invalid query", type: BetProblems.TypeOf("invalid-request"));
        }

        var page = await store.ListForUserAsync(userId, filter, pool, after, pageSize, cancellationToken);
        return TypedResults.Ok(new BetPageView([.. page.Bets.Select(BetView.From)], page.NextCursor));
    }

    public static async Task<Results<Ok<BetView>, ProblemHttpResult>> GetMyBetAsync(Guid betId, ClaimsPrincipal user, BetStore store, CancellationToken cancellationToken)
    {
        var bet = await store.GetAsync(betId, cancellationToken);
        // Someone else's bet is answered exactly like a missing one.
        return bet is not null && bet.UserId == user.GetUserId()
            ? TypedResults.Ok(BetView.From(bet))
            : TypedResults.Problem(detail: "You have no bet with this id.", statusCode: StatusCodes.Status404NotFound, title: "Bet not found", type: BetProblems.TypeOf("bet-not-found"));
    }

    public static ProblemHttpResult Problem(BetRejection rejection, Guid? betId) => TypedResults.Problem(
        detail: rejection.Detail,
        statusCode: BetProblems.HttpStatusOf(rejection.Code),
        title: BetProblems.TitleOf(rejection.Code),
        type: BetProblems.TypeOf(rejection.Code),
        extensions: betId is { } id ? new Dictionary<string, object?> { ["betId"] = id } : null);

    private static bool TryParseFilter(string status, out BetListFilter filter)
    {
        filter = status.ToLowerInvariant() switch
        {
            "open" => BetListFilter.Open,
            "settled" => BetListFilter.Settled,
            _ => (BetListFilter)(-1),
        };
        return Enum.IsDefined(filter);
    }
}
