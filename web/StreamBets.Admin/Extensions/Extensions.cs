using StreamBets.Admin.Operations;

namespace StreamBets.Admin.Extensions;

internal static class Extensions
{
    /// <summary>
    /// Everything the operators' console registers: Blazor server components, cookie sign-in with the Users tokens
    /// kept in Redis under the console's own keys and cookie, with its gateway client.
    /// </summary>
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddRazorComponents().AddInteractiveServerComponents();
        builder.AddServerSideSignIn<OperatorGateway>(new FrontEndApp("admin", CookieName: "streambets-admin", TokensPurpose: "StreamBets.Admin.SessionTokens.v1"));
    }
}
