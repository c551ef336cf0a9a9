using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using StackExchange.Redis;
using StreamBets.FrontEnd.Auth;
using StreamBets.FrontEnd.Gateway;
using StreamBets.Testing;

namespace StreamBets.Web.Tests;

/// <summary>
/// The player site served in-process, as a browser reaches it: its gateway is <see cref="Gateway"/>, and its Redis (the
/// test Redis) can be made to fail with <see cref="SessionStoreFails"/>.
/// </summary>
public sealed partial class PlayerSite : IAsyncDisposable
{
    private readonly ConnectionMultiplexer _redis;
    private readonly SwitchableRedis _sessionStore;
    private readonly WebApplicationFactory<Program> _site;

    private PlayerSite(ConnectionMultiplexer redis, string connectionString)
    {
        _redis = redis;
        (var store, _sessionStore) = SwitchableRedis.Over(redis);
        _site = new WebApplicationFactory<Program>().WithWebHostBuilder(web => web
            .UseSetting("ConnectionStrings:redis", connectionString)
            .ConfigureTestServices(services =>
            {
                services.AddSingleton(store);
                services.AddHttpClient(GatewayClientBase.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => Gateway);
            }));
    }

    public ScriptedGateway Gateway { get; } = new();

    public static async Task<PlayerSite> StartAsync()
    {
        var connectionString = (await TestServers.RedisAsync()).ConnectionString;
        return new PlayerSite(await ConnectionMultiplexer.ConnectAsync(connectionString), connectionString);
    }

    public async ValueTask DisposeAsync()
    {
        await _site.DisposeAsync();
        await _redis.DisposeAsync();
    }

    /// <summary>From now on Redis throws <paramref name="outage"/>; null ends the outage.</summary>
    public void SessionStoreFails(Exception? outage) => _sessionStore.Outage = outage;

    /// <summary>A browser asking for pages in <paramref name="culture"/>, as a navigation does; it keeps its cookies.</summary>
    public HttpClient Browser(string culture = "en")
    {
        var browser = _site.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        browser.DefaultRequestHeaders.Accept.ParseAdd("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8");
        browser.DefaultRequestHeaders.AcceptLanguage.ParseAdd(culture);
        return browser;
    }

    /// <summary>A client that asks for JSON, not pages.</summary>
    public HttpClient JsonClient()
    {
        var client = _site.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        client.DefaultRequestHeaders.Accept.ParseAdd("application/json");
        return client;
    }

    /// <summary>The cookie the site gives a signed-in player (made while Redis answers: it holds the cookies' keys too).</summary>
    public string SessionCookie()
    {
        var options = _site.Services.GetRequiredService<IOptionsMonitor<CookieAuthenticationOptions>>().Get(CookieAuthenticationDefaults.AuthenticationScheme);
        var tokens = new StoredTokens("access-1", DateTimeOffset.UtcNow.AddMinutes(10), "refresh-1", DateTimeOffset.UtcNow.AddDays(1), Guid.NewGuid(), "Ana", "player");
        var ticket = new AuthenticationTicket(SessionClaims.Principal(Guid.NewGuid().ToString(), tokens), CookieAuthenticationDefaults.AuthenticationScheme);
        return $"{options.Cookie.Name}={options.TicketDataFormat.Protect(ticket)}";
    }

    /// <summary>
    /// The form on <paramref name="page"/> as the browser posts it: its handler and antiforgery token (whose cookie the
    /// browser got with the page), and <paramref name="fields"/> under the form model's name.
    /// </summary>
    public static async Task<FormUrlEncodedContent> FormAsync(HttpClient browser, string page, string handler, IReadOnlyDictionary<string, string> fields)
    {
        var html = await browser.GetStringAsync(page);
        var form = new Dictionary<string, string>
        {
            ["_handler"] = handler,
            ["__RequestVerificationToken"] = AntiforgeryToken().Match(html).Groups[1].Value,
        };
        foreach (var (name, value) in fields)
        {
            form[$"Form.{name}"] = value;
        }
        return new FormUrlEncodedContent(form);
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryToken();

    /// <summary>What Users answers a sign-in: an access token naming its session.</summary>
    public static TokenResponse Tokens() => new(
        new JsonWebTokenHandler().CreateToken(new Microsoft.IdentityModel.Tokens.SecurityTokenDescriptor
        {
            Claims = new Dictionary<string, object> { ["sid"] = Guid.NewGuid().ToString(), ["name"] = "Ana" },
        }),
        "Bearer", 900, DateTimeOffset.UtcNow.AddMinutes(15), "refresh-1", DateTimeOffset.UtcNow.AddDays(1), Guid.NewGuid(), "player");
}
