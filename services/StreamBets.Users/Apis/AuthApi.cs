using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using StreamBets.Users.Accounts;
using StreamBets.Users.Auth;

namespace StreamBets.Users.Apis;

/// <summary>Registration, sign-in, token refresh and sign-out.</summary>
public static class AuthApi
{
    public static IEndpointRouteBuilder MapAuthApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/users").WithTags("Authentication");
        api.MapPost("/register", RegisterAsync).AllowAnonymous();
        api.MapPost("/login", LoginAsync).AllowAnonymous();
        api.MapPost("/token/refresh", RefreshAsync).AllowAnonymous();
        api.MapPost("/logout", LogoutAsync).RequireAuthorization();
        return app;
    }

    public static async Task<Results<Created<ProfileView>, ValidationProblem, ProblemHttpResult>> RegisterAsync(
        RegistrationRequest request, AccountRegistration registration, CancellationToken cancellationToken) =>
        (await registration.RegisterAsync(request, cancellationToken)).ToResult(account => TypedResults.Created("/api/users/me", ProfileView.From(account)));

    public static async Task<Results<Ok<TokenResponse>, ValidationProblem, ProblemHttpResult>> LoginAsync(
        LoginRequest request, [FromHeader(Name = LoginSource.Header)] string? clientNetwork, Authenticator authenticator, CancellationToken cancellationToken) =>
        (await authenticator.LoginAsync(request, LoginSource.From(clientNetwork), cancellationToken)).ToOk();

    public static async Task<Results<Ok<TokenResponse>, ValidationProblem, ProblemHttpResult>> RefreshAsync(
        RefreshRequest request, Authenticator authenticator, CancellationToken cancellationToken) =>
        (await authenticator.RefreshAsync(request, cancellationToken)).ToOk();

    public static async Task<NoContent> LogoutAsync(ClaimsPrincipal user, Authenticator authenticator, CancellationToken cancellationToken)
    {
        if (user.GetSessionId() is { } sessionId)
        {
            await authenticator.LogoutAsync(user.GetUserId(), sessionId, cancellationToken);
        }
        return TypedResults.NoContent();
    }
}
