using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using StreamBets.Users.ResponsibleGambling;

namespace StreamBets.Users.Apis;

/// <summary>The player's deposit and session limits and self-exclusion.</summary>
public static class ResponsibleGamblingApi
{
    public static IEndpointRouteBuilder MapResponsibleGamblingApi(this IEndpointRouteBuilder app)
    {
        var me = app.MapGroup("/api/users/me").WithTags("Responsible gambling").RequireAuthorization();
        me.MapGet("/limits", GetLimitsAsync);
        me.MapPut("/limits", SetLimitsAsync);
        me.MapPost("/self-exclusion", SelfExcludeAsync);
        return app;
    }

    public static async Task<Ok<LimitsView>> GetLimitsAsync(ClaimsPrincipal user, ResponsibleGamblingSettings settings, CancellationToken cancellationToken) =>
        TypedResults.Ok(await settings.GetAsync(user.GetUserId(), cancellationToken));

    public static async Task<Results<Ok<LimitsView>, ValidationProblem, ProblemHttpResult>> SetLimitsAsync(
        LimitsRequest request, ClaimsPrincipal user, ResponsibleGamblingSettings settings, CancellationToken cancellationToken) =>
        (await settings.SetLimitsAsync(user.GetUserId(), request, cancellationToken)).ToOk();

    public static async Task<Results<Ok<SelfExclusionView>, ValidationProblem, ProblemHttpResult>> SelfExcludeAsync(
        SelfExclusionRequest request, ClaimsPrincipal user, ResponsibleGamblingSettings settings, CancellationToken cancellationToken) =>
        (await settings.SelfExcludeAsync(user.GetUserId(), request, cancellationToken)).ToOk();
}
