using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.WebUtilities;

namespace StreamBets.FrontEnd.Auth;

/// <summary>
/// A posted form whose antiforgery token no longer holds: its cookie is gone, or the person signed in or out in another
/// tab since the form was drawn. Nothing the form asked for is done; the person goes back to the page the form was on,
/// which draws a fresh form and says why (the layouts read <see cref="QueryKey"/>). Without this, a page form answers
/// the framework's one-line 400 text, and an endpoint that reads no form fields (sign-out) would run regardless.
/// </summary>
public static class StaleForms
{
    public const string QueryKey = "formExpired";

    /// <summary>Goes right after <c>UseAntiforgery()</c>, which only records the check's result.</summary>
    public static IApplicationBuilder UseStaleFormRedirect(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        if (context.Features.Get<IAntiforgeryValidationFeature>() is not { IsValid: false } check)
        {
            await next(context);
            return;
        }
        context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(StaleForms))
            .LogInformation("A {Method} to {Path} had no valid antiforgery token ({Reason}); sent back to a fresh form.",
                context.Request.Method, context.Request.Path.Value, check.Error?.Message);
        context.Response.StatusCode = StatusCodes.Status303SeeOther;
        context.Response.Headers.Location = BackTo(context.Request);
    });

    /// <summary>The page that posted (the Referer, when it is this site), flagged; the home page when the browser did not say.</summary>
    public static string BackTo(HttpRequest request)
    {
        var page = Uri.TryCreate(request.Headers.Referer.ToString(), UriKind.Absolute, out var referer)
                   && string.Equals(referer.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase)
            ? SessionSignIn.SafeReturnUrl(referer.PathAndQuery) // "https://site//evil.example/" has the path "//evil.example/"
            : "/";
        return page.Contains(QueryKey + "=", StringComparison.Ordinal) ? page : QueryHelpers.AddQueryString(page, QueryKey, "true");
    }

    /// <summary>
    /// Whether the page at <paramref name="uri"/> was reached by <see cref="UseStaleFormRedirect"/>. Not when it answers
    /// its fresh form's own post (same address): that answer has news of its own, such as a wrong password.
    /// </summary>
    public static bool CameBack(string uri, HttpContext? staticRender) =>
        !HttpMethods.IsPost(staticRender?.Request.Method ?? HttpMethods.Get)
        && Uri.TryCreate(uri, UriKind.Absolute, out var parsed) && QueryHelpers.ParseQuery(parsed.Query).ContainsKey(QueryKey);
}
