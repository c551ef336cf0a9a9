using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Primitives;
using StackExchange.Redis;
using StreamBets.Contracts.Bets;
using StreamBets.Pools.Configuration;
using StreamBets.Pools.Data;
using StreamBets.Pools.Leaderboards;
using StreamBets.Pools.Lifecycle;
using StreamBets.Pools.Management;
using StreamBets.Pools.Stakes;

namespace StreamBets.Pools.Apis;

/// <summary>
/// /api/pools: streamers (their own pools) and admins (any pool) manage; any signed-in user reads live pools,
/// a pool's detail with live odds, and the leaderboards.
/// </summary>
public static class PoolsApi
{
    public const int MaxLiveChannels = 200;
    public const int MaxFinishedPools = 100;
    public const int MaxAllLivePools = 1000;
    public const int MaxLivePoolsPerChannel = 50;
    public const int MaxPoolsById = 100;
    public const string IdempotencyKeyHeader = "Idempotency-Key";
    public const string ReplayedHeader = "Idempotent-Replayed";

    internal static readonly string IdempotencyKeyRule =
        $"The Idempotency-Key header is optional; when sent it is 1 to {BetIdempotencyKey.MaxLength} characters, not blank, with no control characters, one per pool.";

    public static IEndpointRouteBuilder MapPoolsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/pools").WithTags("Pools").RequireAuthorization();

        var manage = api.MapGroup("").RequireAuthorization(AuthenticationDefaults.Policies.Streamer);
        manage.MapPost("/", CreatePool).WithName("CreatePool");
        manage.MapPost("/{id:guid}/lock", LockPool).WithName("LockPool");
        manage.MapPost("/{id:guid}/resolve", ResolvePool).WithName("ResolvePool");
        manage.MapPost("/{id:guid}/cancel", CancelPool).WithName("CancelPool");
        // Streamers open pools from templates, so they read them; only admins change them (/api/pools/admin/templates).
        manage.MapGet("/templates", PoolsAdminApi.ListTemplates).WithName("ListPoolTemplatesToOpen");

        api.MapGet("/live", GetLivePools).WithName("GetLivePools");
        api.MapGet("/finished", GetFinishedPools).WithName("GetFinishedPools");
        api.MapGet("/channels", GetLiveChannels).WithName("GetLiveChannels");
        api.MapGet("/{id:guid}", GetPool).WithName("GetPool");
        api.MapGet("", GetPools).WithName("GetPools");
        api.MapGet("/leaderboards", GetLeaderboard).WithName("GetLeaderboard");
        return app;
    }

    /// <summary>
    /// Opens a pool. An optional <c>Idempotency-Key</c> makes a retry safe: the caller's same key with the same body answers
    /// the pool the first request opened (201 again, <c>Idempotent-Replayed: true</c>); with another body, 422
    /// <c>idempotency-key-reused</c>.
    /// </summary>
    public static async Task<Results<Created<PoolView>, ValidationProblem, ProblemHttpResult>> CreatePool(
        CreatePoolRequest request, [FromHeader(Name = IdempotencyKeyHeader)] string? idempotencyKey, ClaimsPrincipal user, HttpContext http,
        PoolCommands commands, PoolStakes stakes, TimeProvider time, CancellationToken cancellationToken)
    {
        if (CallerOf(user) is not { } caller)
        {
            return NoSubject();
        }

        if (IdempotencyKeyError(http.Request.Headers[IdempotencyKeyHeader]) is { } keyError)
        {
            return PoolProblems.Invalid(new Dictionary<string, string[]> { [IdempotencyKeyHeader] = [keyError] });
        }

        var channel = request.Channel is null ? null : new Channel(request.Channel.Provider?.ToLowerInvariant() ?? "", request.Channel.ChannelId ?? "");
        var result = await commands.CreateAsync(
            new CreatePool(channel, request.TemplateId, request.Title, request.Outcomes, request.BettingWindowSeconds, request.MinStakeMinor, request.MaxStakeMinor),
            caller, idempotencyKey, cancellationToken);
        if (!result.IsSuccess)
        {
            return PoolProblems.IsValidation(result.Error) ? PoolProblems.Invalid(result.Error) : PoolProblems.Problem(result.Error);
        }

        if (result.Value.Replayed)
        {
            http.Response.Headers[ReplayedHeader] = "true";
        }

        var view = await result.Value.Pool.ToViewAsync(stakes, time, cancellationToken);
        return TypedResults.Created($"/api/pools/{view.Id}", view);
    }

    public static Task<Results<Ok<PoolView>, ValidationProblem, ProblemHttpResult>> LockPool(
        Guid id, ClaimsPrincipal user, PoolCommands commands, PoolStakes stakes, TimeProvider time, CancellationToken cancellationToken) =>
        ApplyAsync(user, caller => commands.LockAsync(id, caller, cancellationToken), stakes, time, cancellationToken);

    public static Task<Results<Ok<PoolView>, ValidationProblem, ProblemHttpResult>> ResolvePool(
        Guid id, ResolvePoolRequest request, ClaimsPrincipal user, PoolCommands commands, PoolStakes stakes, TimeProvider time, CancellationToken cancellationToken) =>
        ApplyAsync(user, caller => commands.ResolveAsync(id, request.WinningOutcomeIds ?? [], caller, cancellationToken), stakes, time, cancellationToken);

    public static Task<Results<Ok<PoolView>, ValidationProblem, ProblemHttpResult>> CancelPool(
        Guid id, ClaimsPrincipal user, PoolCommands commands, PoolStakes stakes, TimeProvider time, CancellationToken cancellationToken) =>
        ApplyAsync(user, caller => commands.CancelAsync(id, caller, cancellationToken), stakes, time, cancellationToken);

    /// <summary>Open and locked pools of a channel ("twitch:12826"), soonest lock first.</summary>
    public static async Task<Results<Ok<PoolView[]>, ValidationProblem>> GetLivePools(
        string? channel, PoolStore store, PoolStakes stakes, TimeProvider time, CancellationToken cancellationToken)
    {
        if (Channel.TryParse(channel) is not { } parsed)
        {
            return PoolProblems.Invalid(new Dictionary<string, string[]> { ["channel"] = [ChannelRule] });
        }

        return TypedResults.Ok(await PoolViews.ToViewsAsync(await store.LiveAsync(parsed, MaxLivePoolsPerChannel, cancellationToken), stakes, time, cancellationToken));
    }

    /// <summary>Every channel's open and locked pools, soonest lock first, in one call (admins: the operators' console).</summary>
    public static async Task<Results<Ok<PoolView[]>, ValidationProblem>> GetAllLivePools(
        string? limit, PoolStore store, PoolStakes stakes, TimeProvider time, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        var count = QueryLimit.Read(limit, MaxAllLivePools, 200, errors);
        if (errors.Count > 0)
        {
            return PoolProblems.Invalid(errors);
        }

        return TypedResults.Ok(await PoolViews.ToViewsAsync(await store.AllLiveAsync(count, cancellationToken), stakes, time, cancellationToken));
    }

    /// <summary>
    /// Resolved and cancelled pools of a channel, most recently closed first: the results, and for the streamer and
    /// operators whether Settlement has paid each one out (<c>settlement</c>, <c>settledAt</c>).
    /// </summary>
    public static async Task<Results<Ok<PoolView[]>, ValidationProblem>> GetFinishedPools(
        string? channel, string? limit, PoolStore store, PoolStakes stakes, TimeProvider time, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        var parsed = Channel.TryParse(channel);
        if (parsed is null)
        {
            errors["channel"] = [ChannelRule];
        }

        var count = QueryLimit.Read(limit, MaxFinishedPools, 20, errors);
        if (errors.Count > 0)
        {
            return PoolProblems.Invalid(errors);
        }

        return TypedResults.Ok(await PoolViews.ToViewsAsync(await store.FinishedAsync(parsed!, count, cancellationToken), stakes, time, cancellationToken));
    }

    /// <summary>Channels with open or locked pools, most recently opened first: where a player can go and bet.</summary>
    public static async Task<Results<Ok<LiveChannelView[]>, ValidationProblem>> GetLiveChannels(string? limit, PoolStore store, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        var count = QueryLimit.Read(limit, MaxLiveChannels, 50, errors);
        if (errors.Count > 0)
        {
            return PoolProblems.Invalid(errors);
        }

        var channels = await store.LiveChannelsAsync(count, cancellationToken);
        return TypedResults.Ok(channels
            .Select(c => new LiveChannelView(c.Channel.ToString(), c.Channel.Provider, c.Channel.ChannelId, c.LivePools, c.OpenPools, c.NextLockAt))
            .ToArray());
    }

    public static async Task<Results<Ok<PoolView>, ProblemHttpResult>> GetPool(
        Guid id, PoolStore store, PoolStakes stakes, TimeProvider time, CancellationToken cancellationToken)
    {
        var pool = await store.FindAsync(id, cancellationToken);
        if (pool is null)
        {
            return PoolProblems.Problem(ManagementErrors.NotFound(id));
        }

        return TypedResults.Ok(await pool.ToViewAsync(stakes, time, cancellationToken));
    }

    /// <summary>
    /// Several pools in one call, <c>?ids=a,b,c</c> (1 to <see cref="MaxPoolsById"/>): what a page of bets or settlements
    /// needs to name its pools without a request per row. Unknown ids are left out of the answer.
    /// </summary>
    public static async Task<Results<Ok<PoolView[]>, ValidationProblem>> GetPools(
        string? ids, PoolStore store, PoolStakes stakes, TimeProvider time, CancellationToken cancellationToken)
    {
        var parts = (ids ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var parsed = parts.Select(part => Guid.TryParse(part, out var id) ? id : (Guid?)null).ToArray();
        if (parts.Length is 0 or > MaxPoolsById || parsed.Any(id => id is null))
        {
            return PoolProblems.Invalid(new Dictionary<string, string[]>
            {
                ["ids"] = [$"Give 1 to {MaxPoolsById} pool ids, separated by commas."],
            });
        }

        return TypedResults.Ok(await PoolViews.ToViewsAsync(await store.FindManyAsync([.. parsed.Select(id => id!.Value).Distinct()], cancellationToken), stakes, time, cancellationToken));
    }

    /// <summary>Net winnings (payouts minus stakes), best first: scope "global" or "channel:{provider}:{channelId}"; period day, week or all (UTC).</summary>
    public static async Task<Results<Ok<LeaderboardView>, ValidationProblem, ProblemHttpResult>> GetLeaderboard(
        string? scope, string? period, string? limit, ClaimsPrincipal user, Leaderboards.Leaderboards leaderboards, HttpResponse response, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        var parsedScope = LeaderboardScope.TryParse(scope ?? "global");
        if (parsedScope is null)
        {
            errors["scope"] = ["The scope is \"global\" or \"channel:{provider}:{channelId}\"."];
        }

        // Named, not Enum.TryParse: that also takes numbers and lists ("day,week" would read as Week).
        LeaderboardPeriod? parsedPeriod = (period ?? "day").ToLowerInvariant() switch
        {
            "day" => LeaderboardPeriod.Day,
            "week" => LeaderboardPeriod.Week,
            "all" => LeaderboardPeriod.All,
            _ => null,
        };
        if (parsedPeriod is null)
        {
            errors["period"] = ["The period is day, week or all."];
        }

        var count = QueryLimit.Read(limit, Leaderboards.Leaderboards.MaxLimit, 10, errors);
        if (errors.Count > 0)
        {
            return PoolProblems.Invalid(errors);
        }

        LeaderboardPage? page;
        try
        {
            page = await leaderboards.TopAsync(parsedScope!, parsedPeriod!.Value, count, CallerOf(user)?.UserId, cancellationToken);
        }
        catch (Exception e) when (e is RedisException or RedisTimeoutException)
        {
            // Not read from PostgreSQL instead: a board's top is an aggregate over every player's sums (the rebuild runs
            // it once, under a lock), and every reader running it while Redis is down would load the database bets need.
            return PoolProblems.Problem(PoolProblems.LeaderboardsUnavailable, "The leaderboards cannot be read just now; try again shortly.");
        }
        if (page is null)
        {
            // The board is being rebuilt (or settled bets hold its lock); it is normally there within a second or two.
            response.Headers.RetryAfter = "2";
            return PoolProblems.Problem(PoolProblems.LeaderboardsUnavailable, "This leaderboard is being rebuilt; try again in a moment.");
        }

        return TypedResults.Ok(new LeaderboardView(
            page.Scope.ToString(), page.Window.Period.ToString().ToLowerInvariant(), page.Window.Key, page.Window.From, page.Window.To, page.Entries, page.Me));
    }

    private static async Task<Results<Ok<PoolView>, ValidationProblem, ProblemHttpResult>> ApplyAsync(
        ClaimsPrincipal user, Func<Caller, Task<Result<StoredPool>>> command, PoolStakes stakes, TimeProvider time, CancellationToken cancellationToken)
    {
        if (CallerOf(user) is not { } caller)
        {
            return NoSubject();
        }

        var result = await command(caller);
        if (!result.IsSuccess)
        {
            return PoolProblems.IsValidation(result.Error) ? PoolProblems.Invalid(result.Error) : PoolProblems.Problem(result.Error);
        }

        return TypedResults.Ok(await result.Value.ToViewAsync(stakes, time, cancellationToken));
    }

    /// <summary>What is wrong with the request's Idempotency-Key, or null when it sent none or one well-formed key.</summary>
    /// <param name="keys">The header's values as sent: the bound <c>string</c> would join repeats into one.</param>
    private static string? IdempotencyKeyError(StringValues keys) => keys.Count switch
    {
        // Joined, a repeated header is one key ("k,k") that a retry with "k" does not replay, so it would open a second
        // pool; refused as the Gateway refuses a bet's repeated key (docs/gateway.md).
        > 1 => $"Send one {IdempotencyKeyHeader} header per request, not {keys.Count}.",
        // The shape of a bet's key (docs/bets.md), so clients make both alike.
        1 when !BetIdempotencyKey.IsWellFormed(keys[0]) => IdempotencyKeyRule,
        _ => null,
    };

    private const string ChannelRule = "Name the channel as provider:channelId, e.g. twitch:12826.";

    private static Caller? CallerOf(ClaimsPrincipal user) =>
        Guid.TryParse(user.FindFirstValue("sub"), out var userId)
            ? new Caller(userId, user.IsInRole(AuthenticationDefaults.Roles.Admin), AdminChanges.NameOf(user))
            : null;

    private static ProblemHttpResult NoSubject() =>
        TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "No user id", detail: "The access token names no user (sub).", type: PoolProblems.TypeOf("no-subject"));
}

/// <summary>A board; <c>me</c> is where the caller stands on it (their rank, null off the board, and their net).</summary>
public sealed record LeaderboardView(
    string Scope, string Period, string PeriodKey, DateOnly? From, DateOnly? To, IReadOnlyList<LeaderboardEntry> Entries, LeaderboardPlace? Me);
