using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.StackExchangeRedis;
using Microsoft.AspNetCore.Localization;
using StackExchange.Redis;
using StreamBets.Web.Auth;
using StreamBets.Web.Gateway;
using StreamBets.Web.Live;

namespace StreamBets.Web.Extensions;

internal static class Extensions
{
    /// <summary>
    /// Everything the player app registers: Blazor server components, cookie sign-in with the Users tokens kept in
    /// Redis, the gateway client (service discovery), the per-circuit hub connection, and English / pt-BR.
    /// </summary>
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
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

        services.AddHttpClient(GatewayClient.HttpClientName, client => client.BaseAddress = new Uri("http://gateway"));

        builder.AddRedisClient("redis");
        // Cookies must stay readable across restarts and replicas, so the keys live beside the tokens.
        services.AddDataProtection().SetApplicationName("streambets-web");
        services.AddOptions<KeyManagementOptions>().Configure<IServiceProvider>((options, provider) =>
            options.XmlRepository = new RedisXmlRepository(() => provider.GetRequiredService<IConnectionMultiplexer>().GetDatabase(), "web:data-protection-keys"));

        services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme)
            .AddCookie(options =>
            {
                options.Cookie.Name = "streambets";
                options.Cookie.HttpOnly = true;
                options.Cookie.SameSite = SameSiteMode.Lax;
                options.LoginPath = "/signin";
                options.AccessDeniedPath = "/";
                options.ExpireTimeSpan = TimeSpan.FromDays(14);
                options.SlidingExpiration = true;
                options.Events.OnValidatePrincipal = PlayerClaims.ValidateAsync;
            });
        services.AddAuthorization();
        services.AddCascadingAuthenticationState();

        services.AddSingleton<PlayerTokens>();
        services.AddSingleton<GatewayAddress>();
        services.AddScoped<PlayerSession>();
        services.AddScoped<GatewayClient>();
        services.AddScoped<LiveUpdates>();
        services.AddScoped<WalletState>();
        services.AddScoped<Toasts>();
    }
}
