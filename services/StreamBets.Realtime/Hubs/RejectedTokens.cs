using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;

namespace StreamBets.Realtime.Hubs;

/// <summary>
/// A hub request (negotiate or the transport) that presents a token the JwtBearer handler rejects (expired, forged,
/// of a revoked session) is answered 401. Authentication alone leaves such a caller anonymous, and an anonymous
/// connection is accepted: a client whose token refresh failed would reconnect as a viewer and look live, without its
/// own notifications and unable to chat, until the page reloads. A 401 sends its retry policy back for a fresh token.
/// A request with no token stays anonymous.
/// </summary>
public static class RejectedTokens
{
    public static void UseRejectedTokenRefusal(this WebApplication app, string hubPath) => app.Use(async (context, next) =>
    {
        if (context.Request.Path.StartsWithSegments(hubPath) && context.User.Identity?.IsAuthenticated != true
            // The handler's own result, kept from UseAuthentication: no second validation.
            && (await context.AuthenticateAsync(JwtBearerDefaults.AuthenticationScheme)).Failure is not null)
        {
            // 401 with WWW-Authenticate: Bearer error="invalid_token" and the reason (RFC 6750).
            await context.ChallengeAsync(JwtBearerDefaults.AuthenticationScheme);
            await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                ProblemDetails =
                {
                    Status = StatusCodes.Status401Unauthorized,
                    Type = "https://streambets.dev/problems/invalid-token",
                    Title = "The access token was not accepted.",
                    Detail = "It has expired, was revoked or is not one of ours. Connect again with a fresh token, or with none to watch signed out.",
                },
            });
            return;
        }
        await next(context);
    });
}
