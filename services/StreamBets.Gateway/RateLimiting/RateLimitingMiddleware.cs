using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace StreamBets.Gateway.RateLimiting;

/// <summary>
/// Answers a client over its budget with 429, a Retry-After header and problem details.
/// Authenticated clients are counted by user id, except on <see cref="CredentialRoutes"/>; anonymous ones by their network
/// (<see cref="ClientNetworks"/>) and, for IPv6, by their /48 too (<see cref="ClientNetwork.SharedBudget"/>), whose
/// site every relayed request also carries to the services behind (<see cref="ClientNetworks.Header"/>).
/// </summary>
public sealed class RateLimitingMiddleware(
    RequestDelegate next, RedisRateLimiter limiter, IProblemDetailsService problemDetails, IOptions<RateLimitOptions> options, IConfiguration configuration)
{
    /// <summary>
    /// Signing in and creating an account, counted by the client's network even with a valid token: anyone can get tokens
    /// by registering, and each would otherwise bring a user's budget for guessing passwords across many emails (the
    /// sign-in lockout counts per email). Not token refresh: its token is 256 random bits, nothing to guess, and it is
    /// usually sent when the access token has expired. A password reset, if one is added, belongs here.
    /// </summary>
    private static readonly string[] CredentialRoutes = ["/api/users/login", "/api/users/register"];

    private readonly ClientNetworks _networks = new(configuration);

    public async Task InvokeAsync(HttpContext context)
    {
        // The gateway's own probes only: a service's health through it (/health/users...) runs that service's readiness
        // checks against its stores, so an unlimited flood of them could drain its connection pool.
        // Any case, with or without a trailing slash: /health/ is the same probe, and limited it could get a 429 and take a
        // healthy replica out.
        if (Microsoft.Extensions.Hosting.Extensions.IsOwnProbe(context.Request.Path))
        {
            await next(context);
            return;
        }

        var userId = context.User.Identity?.IsAuthenticated == true && !IsCredentialRoute(context.Request.Path)
            ? context.User.FindFirst("sub")?.Value
            : null;
        var network = _networks.Of(context.Request);
        var settings = options.Value;
        // The secret goes no further than the gateway (the services behind it may log headers), nor does the address it
        // vouched for, which any client can write too: the services are told the network below.
        context.Request.Headers.Remove(FrontEndVouching.KeyHeader);
        context.Request.Headers.Remove(FrontEndVouching.ClientAddressHeader);
        // Replaces whatever the client sent under that name: Users locks failed sign-ins per email and site by it.
        context.Request.Headers[ClientNetworks.Header] = network.Site;
        // An anonymous IPv6 client also spends its /48's budget (a site's holder has 65,536 /64s), unless it is set to 0.
        var siteBudget = settings.AnonymousSitePermitsPerWindow > 0 ? network.SharedBudget : null;
        var decision = userId is not null ? limiter.Acquire($"user:{userId}", settings.AuthenticatedPermitsPerWindow)
            : network.IsFrontEnd ? limiter.Acquire(network.Key, settings.FrontEndPermitsPerWindow)
            : limiter.Acquire(network.Key, settings.AnonymousPermitsPerWindow, siteBudget, settings.AnonymousSitePermitsPerWindow);
        if (decision.Allowed)
        {
            await next(context);
            return;
        }

        var retryAfterSeconds = (int)Math.Ceiling(decision.RetryAfter.TotalSeconds);
        context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        context.Response.Headers.RetryAfter = retryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await problemDetails.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails
            {
                Status = StatusCodes.Status429TooManyRequests,
                Type = "https://streambets.dev/problems/rate-limited",
                Title = "Too many requests.",
                Detail = decision.ByShared
                    ? $"This client's IPv6 /48 may make {decision.Limit} anonymous requests per window; retry after {retryAfterSeconds} s."
                    : $"This client may make {decision.Limit} requests per window; retry after {retryAfterSeconds} s.",
            },
        });
    }

    /// <summary>Matched as routing matches them, so <c>/API/Users/Login/</c> is the same route; no allocation.</summary>
    private static bool IsCredentialRoute(PathString path)
    {
        var route = path.Value.AsSpan().TrimEnd('/');
        foreach (var credentialRoute in CredentialRoutes)
        {
            if (route.Equals(credentialRoute, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }
}
