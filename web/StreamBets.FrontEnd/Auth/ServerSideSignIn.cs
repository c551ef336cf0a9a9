using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.StackExchangeRedis;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Http.Resilience;
using Polly;
using Polly.Timeout;
using StackExchange.Redis;
using StreamBets.FrontEnd.Gateway;

namespace StreamBets.FrontEnd.Auth;

/// <summary>
/// Which front end this is: <see cref="Name"/> keeps its tokens, data-protection keys and cookie apart from the other
/// app's in the shared Redis, so a player's cookie never signs anyone into the operators' console.
/// </summary>
public sealed record FrontEndApp(string Name, string CookieName, string TokensPurpose);

public static class ServerSideSignIn
{
    /// <summary>
    /// The HTTP client the gateway calls share, with the standard resilience pipeline of every client (service defaults)
    /// except that it never resends a POST, PUT, PATCH or DELETE: a refresh token is spent by its first use (a resent
    /// refresh would look like theft and end the session), and a resent resolve or lock answers "invalid transition"
    /// for a change that was made. Reads are still retried. Its circuit breaker counts only calls the gateway did not
    /// answer (<see cref="GatewayUnreachable"/>). Every call vouches for the browser it serves
    /// (<see cref="FrontEndVouchingHandler"/>). Service discovery picks the gateway's https endpoint where it has one
    /// (deployed, plain http is redirected, and a redirected POST comes back a GET), its http one locally.
    /// </summary>
    public static IHttpStandardResiliencePipelineBuilder AddGatewayHttpClient(this IServiceCollection services)
    {
        services.AddHttpContextAccessor();
        services.AddTransient<FrontEndVouchingHandler>();
#pragma warning disable EXTEXP0001 // RemoveAllResilienceHandlers is marked experimental; it is the documented way to opt a client out of the defaults.
        return services.AddHttpClient(GatewayClientBase.HttpClientName, client => client.BaseAddress = new Uri("https+http://gateway"))
            .RemoveAllResilienceHandlers()
            .AddHttpMessageHandler<FrontEndVouchingHandler>()
            .AddStandardResilienceHandler(options =>
            {
                options.Retry.DisableForUnsafeHttpMethods();
                options.CircuitBreaker.ShouldHandle = args => ValueTask.FromResult(GatewayUnreachable(args.Outcome));
            });
#pragma warning restore EXTEXP0001
    }

    /// <summary>
    /// The breaker is shared by every user of this replica, so it opens only when the gateway itself is out of reach: no
    /// answer or a timeout. Any answer says it is up: a 429 is one player's rate, a 503 (or YARP's 502/504) one service
    /// behind it; counting them would refuse every player's calls, to every service, while one service restarts.
    /// </summary>
    internal static bool GatewayUnreachable(Outcome<HttpResponseMessage> outcome) =>
        outcome.Exception is HttpRequestException or TimeoutRejectedException;

    /// <summary>
    /// Cookie sign-in whose cookie only names a Users session; the session's tokens live in Redis (data-protected),
    /// with the data-protection keys beside them so cookies stay readable across restarts and replicas.
    /// Also the app's gateway client <typeparamref name="TGateway"/> (per circuit or request; sign-in and sign-out use
    /// it too) and the HTTP client it and token refresh share (service discovery).
    /// </summary>
    public static void AddServerSideSignIn<TGateway>(this IHostApplicationBuilder builder, FrontEndApp app) where TGateway : GatewayClientBase
    {
        var services = builder.Services;
        services.AddSingleton(app);
        services.AddGatewayHttpClient();
        services.AddScoped<TGateway>();
        services.AddScoped<GatewayClientBase>(provider => provider.GetRequiredService<TGateway>());

        builder.AddRedisClient("redis");
        services.AddDataProtection().SetApplicationName($"streambets-{app.Name}");
        services.AddOptions<KeyManagementOptions>().Configure<IServiceProvider>((options, provider) =>
            options.XmlRepository = new RedisXmlRepository(() => provider.GetRequiredService<IConnectionMultiplexer>().GetDatabase(), $"{app.Name}:data-protection-keys"));

        services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme)
            .AddCookie(options =>
            {
                options.Cookie.Name = app.CookieName;
                options.Cookie.HttpOnly = true;
                options.Cookie.SameSite = SameSiteMode.Lax;
                // Secure whatever scheme the request seems to have: behind a proxy that ends TLS and does not forward the
                // scheme, the 14-day cookie would otherwise go out without it. Only Development (./run.sh, the tests) runs
                // on plain http, where a browser would drop a Secure cookie.
                options.Cookie.SecurePolicy = builder.Environment.IsDevelopment() ? CookieSecurePolicy.SameAsRequest : CookieSecurePolicy.Always;
                options.LoginPath = "/signin";
                options.AccessDeniedPath = "/";
                options.ExpireTimeSpan = TimeSpan.FromDays(14);
                options.SlidingExpiration = true;
                options.Events.OnValidatePrincipal = SessionClaims.ValidateAsync;
            });
        services.AddAuthorization();
        services.AddCascadingAuthenticationState();

        services.AddSingleton<SessionTokens>();
        services.AddScoped<UserSession>();
    }
}
