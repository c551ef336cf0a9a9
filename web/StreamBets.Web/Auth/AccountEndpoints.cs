using Microsoft.AspNetCore.Localization;
using Microsoft.AspNetCore.Mvc;

namespace StreamBets.Web.Auth;

/// <summary>The two plain HTTP endpoints of the app: signing out (a form post) and choosing the language (a cookie).</summary>
public static class AccountEndpoints
{
    public static IEndpointRouteBuilder MapAccountEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapSignOut();
        app.MapGet("/culture", SetCulture);
        return app;
    }

    /// <summary>Remembers the chosen language for a year and goes back where the player was.</summary>
    public static IResult SetCulture(HttpContext context, [FromQuery] string? culture, [FromQuery] string? redirectUri)
    {
        if (AppCultures.Supported.Any(c => c.Name == culture))
        {
            context.Response.Cookies.Append(
                CookieRequestCultureProvider.DefaultCookieName,
                CookieRequestCultureProvider.MakeCookieValue(new RequestCulture(culture!)),
                new CookieOptions { Expires = DateTimeOffset.UtcNow.AddYears(1), IsEssential = true, SameSite = SameSiteMode.Lax, HttpOnly = true });
        }
        return Results.LocalRedirect(SessionSignIn.SafeReturnUrl(redirectUri));
    }
}
