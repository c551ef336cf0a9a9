using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;

namespace StreamBets.Gateway.RateLimiting;

/// <summary>
/// Runs before authentication. A bearer token whose signature this replica has not yet found valid costs an RSA
/// verification to judge (about 23 µs), so a request carrying one is first counted against its network's anonymous
/// budget, and refused over it: a flood of forged tokens is answered 429 before they are verified. A player's token is
/// remembered once checked (<see cref="SignatureCheckedOnce"/>), so only its first request here takes a permit.
/// </summary>
public sealed class UnverifiedTokenLimitingMiddleware(
    RequestDelegate next, RedisRateLimiter limiter, IProblemDetailsService problemDetails, IOptions<RateLimitOptions> options,
    IOptionsMonitor<JwtBearerOptions> bearer, IConfiguration configuration)
{
    /// <summary>Marks a request whose anonymous permit was taken here, so it is not counted twice if its token fails.</summary>
    public const string CountedItem = "StreamBets.Gateway.UnverifiedTokenCounted";

    private readonly ClientNetworks _networks = new(configuration);
    private readonly SignatureCheckedOnce _checked =
        bearer.Get(JwtBearerDefaults.AuthenticationScheme).TokenHandlers.OfType<SignatureCheckedOnce>().Single();

    public async Task InvokeAsync(HttpContext context)
    {
        if (!CarriesUncheckedToken(context.Request))
        {
            await next(context);
            return;
        }
        var (client, limit) = RateLimitingMiddleware.AnonymousBudget(_networks.Of(context.Request), options.Value);
        var decision = limiter.Acquire(client, limit);
        if (!decision.Allowed)
        {
            await RateLimitingMiddleware.RefuseAsync(context, decision, problemDetails);
            return;
        }
        context.Items[CountedItem] = true;
        await next(context);
    }

    /// <summary>
    /// Wherever the bearer handler may read a token (the Authorization header; the access_token query, which it takes on
    /// /hubs), one not found valid before. Both places, whatever the path: checking one the handler ignores costs nothing.
    /// </summary>
    private bool CarriesUncheckedToken(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            && authorization["Bearer ".Length..].Trim() is { Length: > 0 } headerToken && !_checked.HasChecked(headerToken))
        {
            return true;
        }
        return request.Query["access_token"].ToString() is { Length: > 0 } queryToken && !_checked.HasChecked(queryToken);
    }
}
