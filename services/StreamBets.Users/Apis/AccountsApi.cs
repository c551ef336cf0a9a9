using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using StreamBets.Users.Accounts;
using StreamBets.Users.Auth;

namespace StreamBets.Users.Apis;

/// <summary>The signed-in user's profile and channels, and the admin's user management.</summary>
public static class AccountsApi
{
    public static IEndpointRouteBuilder MapAccountsApi(this IEndpointRouteBuilder app)
    {
        var me = app.MapGroup("/api/users/me").WithTags("Profile").RequireAuthorization();
        me.MapGet("/", GetProfileAsync);
        me.MapPut("/", UpdateProfileAsync);
        me.MapPost("/password", ChangePasswordAsync);
        me.MapGet("/channels", GetChannelsAsync).RequireAuthorization(AuthenticationDefaults.Policies.Streamer);

        var admin = app.MapGroup("/api/users/admin/users").WithTags("Admin").RequireAuthorization(AuthenticationDefaults.Policies.Admin);
        admin.MapGet("/", FindUserAsync);
        admin.MapPut("/{userId:guid}/role", ChangeRoleAsync);
        admin.MapPost("/{userId:guid}/sessions/end", EndSessionsAsync);
        return app;
    }

    public static async Task<Results<Ok<ProfileView>, NotFound>> GetProfileAsync(ClaimsPrincipal user, Profiles profiles, CancellationToken cancellationToken) =>
        await profiles.GetAsync(user.GetUserId(), cancellationToken) is { } profile ? TypedResults.Ok(profile) : TypedResults.NotFound();

    public static async Task<Results<Ok<ProfileView>, ValidationProblem, ProblemHttpResult>> UpdateProfileAsync(
        UpdateProfileRequest request, ClaimsPrincipal user, Profiles profiles, CancellationToken cancellationToken) =>
        (await profiles.UpdateAsync(user.GetUserId(), request, cancellationToken)).ToOk();

    /// <summary>
    /// The caller's new password; every other session of theirs ends. The current password is judged like a sign-in from the
    /// caller's network (<see cref="LoginSource.Header"/>), under the same lockout.
    /// </summary>
    public static async Task<Results<Ok<PasswordChanged>, ValidationProblem, ProblemHttpResult>> ChangePasswordAsync(
        PasswordChangeRequest request, [FromHeader(Name = LoginSource.Header)] string? clientNetwork, ClaimsPrincipal user,
        Authenticator authenticator, CancellationToken cancellationToken) =>
        (await authenticator.ChangePasswordAsync(user.GetUserId(), user.GetSessionId(), request, LoginSource.From(clientNetwork), cancellationToken)).ToOk();

    /// <summary>Read-only here: the Integration service links channels.</summary>
    public static async Task<Ok<IReadOnlyList<LinkedChannel>>> GetChannelsAsync(ClaimsPrincipal user, AccountStore accounts, CancellationToken cancellationToken) =>
        TypedResults.Ok(await accounts.LinkedChannelsAsync(user.GetUserId(), cancellationToken));

    // No stored email holds a control character (registration refuses them), and PostgreSQL refuses a NUL outright.
    public static async Task<Results<Ok<ProfileView>, NotFound>> FindUserAsync(string email, AccountStore accounts, CancellationToken cancellationToken) =>
        !email.Any(char.IsControl) && await accounts.FindByEmailAsync(email, cancellationToken) is { } account
            ? TypedResults.Ok(ProfileView.From(account))
            : TypedResults.NotFound();

    public static async Task<Results<Ok<ProfileView>, ValidationProblem, ProblemHttpResult>> ChangeRoleAsync(
        Guid userId, RoleChangeRequest request, ClaimsPrincipal admin, Profiles profiles, CancellationToken cancellationToken) =>
        (await profiles.ChangeRoleAsync(userId, request, admin.GetUserId(), cancellationToken)).ToOk();

    /// <summary>An admin's kill switch: every session of the user ends now (a stolen account, a streamer caught rigging).</summary>
    public static async Task<Ok<SessionsEnded>> EndSessionsAsync(
        Guid userId, ClaimsPrincipal admin, Authenticator authenticator, CancellationToken cancellationToken) =>
        TypedResults.Ok(new SessionsEnded(await authenticator.EndAllSessionsAsync(userId, admin.GetUserId(), "ended-by-admin", cancellationToken)));

    public sealed record SessionsEnded(int Ended);
}
