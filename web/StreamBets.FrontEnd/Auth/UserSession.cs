using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Components.Authorization;

namespace StreamBets.FrontEnd.Auth;

/// <summary>The claims a front end's cookie carries: who the user is, and which Users session holds their tokens.</summary>
public static class SessionClaims
{
    public const string UserId = "sub";
    public const string Name = "name";
    public const string Role = "role";
    public const string SessionId = "sid";

    public static ClaimsPrincipal Principal(string sessionId, StoredTokens tokens) => new(new ClaimsIdentity(
        [
            new Claim(UserId, tokens.UserId.ToString()),
            new Claim(Name, tokens.DisplayName),
            new Claim(Role, tokens.Role),
            new Claim(SessionId, sessionId),
        ],
        CookieAuthenticationDefaults.AuthenticationScheme, Name, Role));

    public static string? SessionIdOf(ClaimsPrincipal user) => user.FindFirst(SessionId)?.Value;

    public static Guid? UserIdOf(ClaimsPrincipal user) => Guid.TryParse(user.FindFirst(UserId)?.Value, out var id) ? id : null;

    public static bool IsStreamer(ClaimsPrincipal user) => user.IsInRole("streamer") || IsAdmin(user);

    public static bool IsAdmin(ClaimsPrincipal user) => user.IsInRole("admin");

    /// <summary>
    /// Every request checks that the session's tokens still exist (sign-out elsewhere, a reused refresh token or the
    /// session limit removes them) and follows a role or name change that a token refresh brought.
    /// </summary>
    public static async Task ValidateAsync(CookieValidatePrincipalContext context)
    {
        if (context.Principal is not { } user || SessionIdOf(user) is not { } sessionId)
        {
            context.RejectPrincipal();
            return;
        }
        var tokens = await context.HttpContext.RequestServices.GetRequiredService<SessionTokens>().GetAsync(sessionId);
        if (tokens is null)
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return;
        }
        if (!user.IsInRole(tokens.Role) || user.FindFirst(Name)?.Value != tokens.DisplayName)
        {
            context.ReplacePrincipal(Principal(sessionId, tokens));
            context.ShouldRenew = true;
        }
    }
}

/// <summary>
/// The signed-in user of this circuit (or request): their access token for gateway calls, refreshed as needed.
/// When the session turns out to have ended, <see cref="Ended"/> fires so the UI can send them to sign in.
/// </summary>
public sealed class UserSession(AuthenticationStateProvider authentication, SessionTokens tokens)
{
    public event Action? Ended;

    public async Task<ClaimsPrincipal> UserAsync() => (await authentication.GetAuthenticationStateAsync()).User;

    public async Task<Guid?> UserIdAsync() => SessionClaims.UserIdOf(await UserAsync());

    /// <summary>
    /// The access token, or null for an anonymous visitor or an ended session. Throws
    /// <see cref="SessionTokenUnavailableException"/> when the session lives on but its token has expired and Users could
    /// not refresh it: sent anyway, the gateway's 401 would read as "signed out", and the live hub would refuse the
    /// connection (or, before it checked, take the player for an anonymous visitor).
    /// </summary>
    public async Task<string?> AccessTokenAsync(CancellationToken cancellationToken = default)
    {
        var user = await UserAsync();
        if (SessionClaims.SessionIdOf(user) is not { } sessionId)
        {
            return null;
        }
        var fresh = await tokens.GetFreshAsync(sessionId, cancellationToken);
        if (fresh is null)
        {
            Ended?.Invoke();
            return null;
        }
        return tokens.HasExpired(fresh) ? throw new SessionTokenUnavailableException() : fresh.AccessToken;
    }

    /// <summary>
    /// The gateway answered 401 to this access token: a session revoked in Users (a reused refresh token, the session
    /// time limit) ends here at once, instead of at the token's next scheduled refresh up to 15 minutes later.
    /// Otherwise the session gets a fresh token, returned so the refused call can be sent again; null when it ended.
    /// </summary>
    public async Task<string?> TokenRefusedAsync(string accessToken, CancellationToken cancellationToken = default)
    {
        if (SessionClaims.SessionIdOf(await UserAsync()) is not { } sessionId)
        {
            return null;
        }
        var fresh = await tokens.RefreshRefusedAsync(sessionId, accessToken, cancellationToken);
        if (fresh is null)
        {
            Ended?.Invoke();
        }
        return fresh?.AccessToken;
    }
}

/// <summary>
/// The session lives on, but its access token has expired and Users could not give a new one now (no answer, a 429, a
/// 5xx): no call may carry it. An <see cref="HttpRequestException"/>, so callers take it as the gateway's no-answer (a
/// REST call answers "unavailable", a hub connection attempt fails and is tried again later).
/// </summary>
public sealed class SessionTokenUnavailableException()
    : HttpRequestException("The session's access token has expired and could not be refreshed now.", null, HttpStatusCode.ServiceUnavailable);
