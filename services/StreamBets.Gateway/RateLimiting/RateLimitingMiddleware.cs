using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace StreamBets.Gateway.RateLimiting;

/// <summary>
/// Answers a client over its budget with 429, a Retry-After header and problem details.
/// Authenticated clients are counted by user id, anonymous ones by remote address: the browser's, when a front end
/// vouches for it (<see cref="FrontEndVouching"/>), since the front ends' own address is every player's. An IPv6
/// address counts by its /64, the block one host or home is given.
/// </summary>
public sealed class RateLimitingMiddleware(
    RequestDelegate next, RedisRateLimiter limiter, IProblemDetailsService problemDetails, IOptions<RateLimitOptions> options, IConfiguration configuration)
{
    private readonly byte[]? _frontEndKey = configuration[FrontEndVouching.KeySetting] is { Length: > 0 } key ? Encoding.UTF8.GetBytes(key) : null;

    public async Task InvokeAsync(HttpContext context)
    {
        // The gateway's own probes only: a service's health through it (/health/users...) runs that service's readiness
        // checks against its stores, so an unlimited flood of them could drain its connection pool.
        if (context.Request.Path == Microsoft.Extensions.Hosting.Extensions.HealthEndpointPath
            || context.Request.Path == Microsoft.Extensions.Hosting.Extensions.AlivenessEndpointPath)
        {
            await next(context);
            return;
        }

        var userId = context.User.Identity?.IsAuthenticated == true ? context.User.FindFirst("sub")?.Value : null;
        var (client, limit) = userId is not null ? ($"user:{userId}", options.Value.AuthenticatedPermitsPerWindow) : Anonymous(context.Request);
        // The secret goes no further than the gateway (the services behind it may log headers).
        context.Request.Headers.Remove(FrontEndVouching.KeyHeader);
        var decision = limiter.Acquire(client, limit);
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
                Detail = $"This client may make {decision.Limit} requests per window; retry after {retryAfterSeconds} s.",
            },
        });
    }

    private (string Client, int Limit) Anonymous(HttpRequest request)
    {
        var settings = options.Value;
        if (!IsVouchingFrontEnd(request))
        {
            return (AddressKey(request.HttpContext.Connection.RemoteIpAddress), settings.AnonymousPermitsPerWindow);
        }
        // The browser's address, which the front end saw on the request it serves (a sign-in form, say); without one (a
        // token refresh from a live page) the front end's own budget, sized for all its players.
        return IPAddress.TryParse(request.Headers[FrontEndVouching.ClientAddressHeader], out var browser)
            ? (AddressKey(browser), settings.AnonymousPermitsPerWindow)
            : ($"front-end:{request.HttpContext.Connection.RemoteIpAddress}", settings.FrontEndPermitsPerWindow);
    }

    /// <summary>
    /// An IPv6 host usually holds a whole /64 and can take a fresh address in it for each request: counted by address,
    /// it would have a budget per address. IPv4 (mapped into IPv6 too) stays one address, one client.
    /// </summary>
    private static string AddressKey(IPAddress? address)
    {
        if (address is not { AddressFamily: System.Net.Sockets.AddressFamily.InterNetworkV6 } || address.IsIPv4MappedToIPv6)
        {
            return $"ip:{address}";
        }
        Span<byte> network = stackalloc byte[16];
        address.TryWriteBytes(network, out _);
        network[8..].Clear();
        return $"ip:{new IPAddress(network)}/64";
    }

    private bool IsVouchingFrontEnd(HttpRequest request) =>
        _frontEndKey is not null && request.Headers[FrontEndVouching.KeyHeader] is [{ } presented]
        && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), _frontEndKey);
}
