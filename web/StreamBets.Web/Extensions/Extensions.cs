using StreamBets.FrontEnd.Gateway;
using Microsoft.AspNetCore.Localization;
using StreamBets.FrontEnd.Auth;
using StreamBets.Web.Betting;
using StreamBets.Web.Gateway;
using StreamBets.Web.Live;

namespace StreamBets.Web.Extensions;

internal static class Extensions
{
    /// <summary>
    /// Everything the player app registers: a new trace for each browser request, Blazor server components, cookie sign-in
    /// with the Users tokens kept in Redis, the gateway client (service discovery), the per-circuit hub connection, the
    /// requests sent with no answer (kept in the tab), and English / pt-BR.
    /// </summary>
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        // Browsers reach this app directly (the page's GET, the circuit's WebSocket): each request starts a new trace here,
        // which the gateway continues for its calls (docs/gateway.md, "Traces start here").
        builder.AddEdgeTracing();
        services.AddRazorComponents().AddInteractiveServerComponents();
        services.AddLocalization(options => options.ResourcesPath = "Resources");
        services.Configure<RequestLocalizationOptions>(options =>
        {
            options.DefaultRequestCulture = new RequestCulture("en");
            options.SupportedCultures = AppCultures.Supported;
            options.SupportedUICultures = AppCultures.Supported;
            // The culture switcher's cookie wins; otherwise the browser's Accept-Language.
            options.RequestCultureProviders = [new CookieRequestCultureProvider(), new AcceptLanguageHeaderRequestCultureProvider()];
        });

        // The player's cookie keeps its name and its tokens their protector, so sessions from before the move stay signed in.
        builder.AddServerSideSignIn<GatewayClient>(new FrontEndApp("web", CookieName: "streambets", TokensPurpose: "StreamBets.Web.PlayerTokens.v1"));

        services.AddSingleton<LiveHubAddress>();
        services.AddScoped<LiveUpdates>();
        services.AddScoped<WalletState>();
        services.AddScoped<Toasts>();
        services.AddScoped<PlayerClock>();
        services.AddScoped<UnansweredRequests>();
    }
}
