using System.Security.Claims;
using Grpc.Core;
using Microsoft.AspNetCore.Http.HttpResults;
using StreamBets.Settlement.Data;
using PoolsClient = StreamBets.Contracts.Pools.Pools.PoolsClient;

namespace StreamBets.Settlement.Apis;

/// <summary>What an operator (or the streamer of the pool's channel, without <see cref="LastError"/>) sees of a settlement.</summary>
public sealed record SettlementView(
    Guid PoolId,
    string Kind,
    string Status,
    int Attempts,
    string? LastError,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    DateTimeOffset? NextAttemptAt,
    long? BetCount,
    long? TotalMinor,
    long SettledBets,
    string? Basis,
    long? PaidMinor,
    long? RakeMinor,
    long? BreakageMinor,
    long? WinningBets,
    long? RefundedBets,
    long? EscrowResidueMinor)
{
    public static SettlementView Of(SettlementRecord s) => new(
        s.PoolId, s.Kind, s.Status, s.Attempts, s.LastError, s.CreatedAt, s.UpdatedAt, s.StartedAt, s.FinishedAt,
        s.Status is SettlementStatuses.Due or SettlementStatuses.Running ? s.NextAttemptAt : null,
        s.BetCount, s.TotalMinor, s.SettledBets, s.Basis, s.PaidMinor, s.RakeMinor, s.BreakageMinor, s.WinningBets, s.RefundedBets, s.EscrowResidueMinor);
}

/// <summary>A page of settlements, newest first; pass <see cref="NextCursor"/> back as <c>cursor</c> for the next one.</summary>
public sealed record SettlementPageView(IReadOnlyList<SettlementView> Items, string? NextCursor);

/// <summary>
/// /api/settlements: an operator's window on settlement. Admins list them all and see every pool's; a streamer sees the
/// pools of the channels linked to them now, the pools they run (docs/pools.md), whoever created them.
/// Admins may send a failed settlement back to run once its cause is fixed (paying again is safe: see docs/settlement.md).
/// </summary>
public static partial class SettlementsApi
{
    public const string ProblemTypeBase = "https://streambets.dev/problems/";

    /// <summary>Operators' actions (requeues), logged with the admin who took them.</summary>
    public const string AuditCategory = "StreamBets.Settlement.Administration";
    public const int DefaultPageSize = 50;
    public const int MaxPageSize = 100;
    private static readonly string[] Statuses = [SettlementStatuses.Due, SettlementStatuses.Running, SettlementStatuses.Settled, SettlementStatuses.Failed];

    public static IEndpointRouteBuilder MapSettlementsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/settlements").WithTags("Settlements").RequireAuthorization(AuthenticationDefaults.Policies.Streamer);
        api.MapGet("", ListSettlements).WithName("ListSettlements").RequireAuthorization(AuthenticationDefaults.Policies.Admin);
        api.MapGet("/{poolId:guid}", GetSettlement).WithName("GetSettlement");
        api.MapPost("/{poolId:guid}/requeue", RequeueSettlement).WithName("RequeueSettlement").RequireAuthorization(AuthenticationDefaults.Policies.Admin);
        return app;
    }

    /// <summary>
    /// Every pool's settlement, newest first, optionally of one status: how an operator finds the failed ones; with
    /// <paramref name="residue"/> = true only those settled with money left in their escrow (the escrow-residue gauge's).
    /// </summary>
    public static async Task<Results<Ok<SettlementPageView>, ValidationProblem>> ListSettlements(
        string? status, bool? residue, string? cursor, int? limit, SettlementStore store, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        if (status is not null && !Statuses.Contains(status))
        {
            errors["status"] = [$"The status is one of {string.Join(", ", Statuses)}."];
        }
        if (!PageCursor.TryParse(cursor, out var after))
        {
            errors["cursor"] = ["The cursor is not one this service issued."];
        }
        if (limit is < 1 or > MaxPageSize)
        {
            errors["limit"] = [$"The limit is 1 to {MaxPageSize}."];
        }
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "Invalid query", type: ProblemTypeBase + "invalid-request");
        }

        var (settlements, next) = await store.ListAsync(status, residue == true, after, limit ?? DefaultPageSize, cancellationToken);
        return TypedResults.Ok(new SettlementPageView([.. settlements.Select(SettlementView.Of)], next));
    }

    public static async Task<Results<Ok<SettlementView>, ProblemHttpResult>> GetSettlement(
        Guid poolId, ClaimsPrincipal user, SettlementStore store, PoolsClient pools, CancellationToken cancellationToken)
    {
        var admin = user.IsInRole(AuthenticationDefaults.Roles.Admin);
        // A streamer's pool is checked before the settlement is looked up, so every answer but their own pools' is the
        // same whether or not a settlement exists: 404, or 503 for any pool while Pools cannot say.
        if (!admin)
        {
            switch (await RunsPoolAsync(user, poolId, pools, cancellationToken))
            {
                case false:
                    // Someone else's pool answers as an unknown one: its existence is not the caller's business. So does
                    // a pool on a channel that has left the caller, though they opened it: its new owner resolved it.
                    return NotFound(poolId);
                case null:
                    // Whose channel the pool is on is Pools' to say; while it cannot (down, slow, failing, or too old to
                    // name the owner), the streamer retries rather than gets a 500 or a wrong 404.
                    return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Pools unavailable",
                        detail: "The pool's owner could not be checked just now; try again in a few seconds.", type: ProblemTypeBase + "dependency-unavailable");
            }
        }

        var settlement = await store.FindAsync(poolId, cancellationToken);
        if (settlement is null)
        {
            return NotFound(poolId);
        }

        // The error is for operators: it names other players' bets and users, escrow balances and internal hosts.
        var view = SettlementView.Of(settlement);
        return TypedResults.Ok(admin ? view : view with { LastError = null });
    }

    public static async Task<Results<Ok<SettlementView>, ProblemHttpResult>> RequeueSettlement(
        Guid poolId, ClaimsPrincipal admin, SettlementStore store, TimeProvider time, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var requeued = await store.RequeueAsync(poolId, time.GetUtcNow(), cancellationToken);
        if (requeued)
        {
            LogRequeued(loggers.CreateLogger(AuditCategory), admin.GetUserId(), poolId);
        }
        var settlement = await store.FindAsync(poolId, cancellationToken);
        if (settlement is null)
        {
            return NotFound(poolId);
        }
        return requeued
            ? TypedResults.Ok(SettlementView.Of(settlement))
            : TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Settlement not failed",
                detail: "Only a failed settlement can be requeued; a due or running one runs by itself.", type: ProblemTypeBase + "settlement-not-failed");
    }

    /// <summary>
    /// Whether the streamer runs the pool: its channel is linked to them now. The rule Pools applies to lock, resolve and
    /// cancel it, so the streamer who resolved a pool reads its settlement and one the channel has left does not. Null
    /// when Pools cannot say: unreachable or failing, or a Pools older than the owner field (rolling deploy, rollback),
    /// whose silence must not read as "nobody".
    /// </summary>
    private static async Task<bool?> RunsPoolAsync(ClaimsPrincipal user, Guid poolId, PoolsClient pools, CancellationToken cancellationToken)
    {
        try
        {
            var pool = await pools.GetPoolAsync(new Contracts.Pools.GetPoolRequest { PoolId = poolId.ToString() },
                deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: cancellationToken);
            return pool.HasChannelOwnerId ? Guid.TryParse(pool.ChannelOwnerId, out var owner) && owner == user.GetUserId() : null;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            return false;
        }
        catch (RpcException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
        catch (RpcException e)
        {
            // The streamer left: a cancelled request, not an error to log.
            throw new OperationCanceledException("The request was aborted while Pools was asked.", e, cancellationToken);
        }
    }

    private static ProblemHttpResult NotFound(Guid poolId) => TypedResults.Problem(
        statusCode: StatusCodes.Status404NotFound, title: "Settlement not found",
        detail: $"No settlement is known for pool {poolId}: the pool is unknown, not yet resolved or cancelled, or not on a channel linked to you.",
        type: ProblemTypeBase + "settlement-not-found");

    [LoggerMessage(EventId = 60, EventName = "SettlementRequeued", Level = LogLevel.Information, Message = "Admin {AdminId} requeued the failed settlement of pool {PoolId}")]
    private static partial void LogRequeued(ILogger logger, Guid adminId, Guid poolId);
}
