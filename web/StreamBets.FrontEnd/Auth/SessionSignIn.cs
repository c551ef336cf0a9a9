using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using StreamBets.FrontEnd.Gateway;

namespace StreamBets.FrontEnd.Auth;

/// <summary>Turns a Users sign-in into the front end's session: tokens to the server-side store, a cookie naming it to the browser.</summary>
public static class SessionSignIn
{
    public static async Task SignInAsync(HttpContext context, SessionTokens tokens, TokenResponse response)
    {
        var stored = StoredTokens.From(response);
        var sessionId = StoredTokens.SessionIdOf(response.AccessToken);
        await tokens.SaveAsync(sessionId, stored);
        await context.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, SessionClaims.Principal(sessionId, stored),
            new AuthenticationProperties { IsPersistent = true });
    }

    /// <summary>The sign-out form's endpoint (<c>POST /account/signout</c>, antiforgery-checked).</summary>
    public static IEndpointConventionBuilder MapSignOut(this IEndpointRouteBuilder app) =>
        app.MapPost("/account/signout", SignOutAsync).WithMetadata(new RequireAntiforgeryTokenAttribute());

    /// <summary>Ends the Users session (so its refresh token dies too), forgets the tokens and clears the cookie.</summary>
    public static async Task<IResult> SignOutAsync(HttpContext context, SessionTokens tokens, GatewayClientBase gateway)
    {
        if (SessionClaims.SessionIdOf(context.User) is { } sessionId)
        {
            // Refreshed first: after a long idle the stored access token has expired, and a logout the gateway refuses would
            // leave the Users session, and its refresh token, alive for days.
            if (await tokens.GetFreshAsync(sessionId, context.RequestAborted) is { } stored)
            {
                await gateway.LogoutAsync(stored.AccessToken, context.RequestAborted);
            }
            await tokens.RemoveAsync(sessionId);
        }
        await context.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        return Results.LocalRedirect("/");
    }

    /// <summary>
    /// Only a path on this site: an absolute or protocol-relative URL ("//", "/\\") would be an open redirect, and one with
    /// control characters is refused by LocalRedirect itself (a 500). Anything else goes home.
    /// </summary>
    public static string SafeReturnUrl(string? returnUrl) =>
        returnUrl is { Length: > 0 } && returnUrl[0] == '/' && RedirectHttpResult.IsLocalUrl(returnUrl) ? returnUrl : "/";
}
