using Microsoft.AspNetCore.Authentication.Cookies;
using StreamBets.Admin.Operations;

namespace StreamBets.Admin.Extensions;

internal static class Extensions
{
    /// <summary>
    /// Everything the operators' console registers: a new trace for each browser request, Blazor server components,
    /// cookie sign-in with the Users tokens kept in Redis under the console's own keys and cookie, with its gateway client,
    /// and the live hub's client for the chat's streamer.
    /// </summary>
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        // Browsers reach the console directly (the page's GET, the circuit's WebSocket): each request starts a new trace
        // here, which the gateway continues for its calls (docs/gateway.md, "Traces start here").
        builder.AddEdgeTracing();
        builder.Services.AddRazorComponents().AddInteractiveServerComponents();
        builder.AddServerSideSignIn<OperatorGateway>(new FrontEndApp("admin", CookieName: "streambets-admin", TokensPurpose: "StreamBets.Admin.SessionTokens.v1"));
        // Every console page but this one requires the admin role: the shared default ("/") would refuse a demoted admin
        // again, and redirect again, without end.
        builder.Services.Configure<CookieAuthenticationOptions>(CookieAuthenticationDefaults.AuthenticationScheme,
            options => options.AccessDeniedPath = "/access-denied");
        builder.Services.AddSingleton<LiveHubAddress>();
        builder.Services.AddScoped<ChatStreamers>();
    }
}
