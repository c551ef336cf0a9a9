using Microsoft.AspNetCore.Http.Features;
using StreamBets.Gateway.Problems;
using Yarp.ReverseProxy.Model;

namespace StreamBets.Gateway.Proxy;

/// <summary>
/// Refuses a proxied request whose declared body is over the gateway's limit (<c>Kestrel:Limits:MaxRequestBodySize</c>)
/// before it is proxied: YARP sends the request on to the service first and only finds the body too large as it copies
/// it, so the service would get a request whose body breaks off. A body of unknown length (chunked) still goes that way,
/// cut off at the limit, and its client gets a <c>413</c> of the same type. <c>POST /api/bets</c> has its own, smaller
/// limit and answer.
/// </summary>
public static class OversizedBodies
{
    public static IApplicationBuilder UseOversizedBodyRefusal(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var declared = context.Request.ContentLength;
        var limit = context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize;
        if (declared > limit && context.GetEndpoint()?.Metadata.GetMetadata<RouteModel>() is not null)
        {
            await TypedResults.Problem(
                statusCode: StatusCodes.Status413PayloadTooLarge,
                title: "Request too large",
                type: GatewayProblems.RequestTooLarge,
                detail: $"The body is {declared} bytes; the gateway takes at most {limit}.")
                .ExecuteAsync(context);
            return;
        }
        await next(context);
    });
}
