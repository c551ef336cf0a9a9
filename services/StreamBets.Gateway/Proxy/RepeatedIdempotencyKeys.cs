using StreamBets.Gateway.Bets;
using StreamBets.Gateway.Problems;
using Yarp.ReverseProxy.Model;

namespace StreamBets.Gateway.Proxy;

/// <summary>
/// Refuses a proxied request that sends its Idempotency-Key header more than once. Forwarded, the values reach the service
/// joined on one line ("k, k"), a key of its own, so a retry sending "k" once would deposit, withdraw or open a pool again;
/// Users and Pools refuse a repeat they are sent directly, but behind the proxy they only ever see one value.
/// <c>POST /api/bets</c> is relayed, not proxied, and refuses it itself.
/// </summary>
public static class RepeatedIdempotencyKeys
{
    public static IApplicationBuilder UseRepeatedIdempotencyKeyRefusal(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var keys = context.Request.Headers[RelayedBetsApi.IdempotencyKeyHeader];
        if (keys.Count > 1 && context.GetEndpoint()?.Metadata.GetMetadata<RouteModel>() is not null)
        {
            await TypedResults.ValidationProblem(
                new Dictionary<string, string[]> { [RelayedBetsApi.IdempotencyKeyHeader] = [$"Send one {RelayedBetsApi.IdempotencyKeyHeader} header per request, not {keys.Count}."] },
                title: "Invalid request", type: GatewayProblems.InvalidRequest).ExecuteAsync(context);
            return;
        }
        await next(context);
    });
}
