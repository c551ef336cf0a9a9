using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;

namespace StreamBets.FrontEnd;

/// <summary>
/// What every answer of a front end tells the browser: never show it in a frame (another page could lay it under a decoy
/// and steer an operator's click onto "approve KYC" or "end sessions"), never guess a content type, and send only the
/// origin to other sites. Outside Development, HSTS too.
/// </summary>
public static class BrowserSecurityHeaders
{
    /// <summary>
    /// Goes first in the pipeline. The headers are set as the answer starts, so error pages and answers whose headers a
    /// later step cleared carry them too. They replace the framework's own on pages (Blazor's <c>frame-ancestors 'self'</c>,
    /// antiforgery's <c>X-Frame-Options: SAMEORIGIN</c>): neither app is ever meant to be shown in a frame, even its own.
    /// Only <c>frame-ancestors</c> in the policy: a script or style policy would have to allow what Blazor injects.
    /// </summary>
    public static WebApplication UseBrowserSecurityHeaders(this WebApplication app)
    {
        // No UseHttpsRedirection: the apps listen on plain http (locally, and behind Azure Container Apps' ingress, which
        // ends TLS and redirects http itself), and the health probes reach them over http.
        // HSTS goes only on https answers (the ingress's scheme, through the forwarded headers Aspire turns on), and never
        // in Development, where a browser would remember it for localhost's plain-http apps.
        if (!app.Environment.IsDevelopment())
        {
            app.UseHsts();
        }
        app.Use((context, next) =>
        {
            context.Response.OnStarting(() =>
            {
                var headers = context.Response.Headers;
                headers.XFrameOptions = "DENY";
                headers.ContentSecurityPolicy = "frame-ancestors 'none'";
                headers.XContentTypeOptions = "nosniff";
                headers["Referrer-Policy"] = "strict-origin-when-cross-origin";
                return Task.CompletedTask;
            });
            return next(context);
        });
        return app;
    }
}
