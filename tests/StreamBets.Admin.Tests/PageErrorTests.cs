using System.Net;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using StreamBets.FrontEnd.Auth;
using StreamBets.Testing;

namespace StreamBets.Admin.Tests;

/// <summary>
/// A console page that fails shows the console's status page, never the services' problem document: above all while
/// Redis, which holds the operator's session, does not answer the cookie check. The rule lives in StreamBets.FrontEnd
/// (PageErrors), shared with the player site, whose tests cover sign-in and the player's language; this checks the console uses it.
/// </summary>
public sealed class PageErrorTests : IAsyncLifetime
{
    private ConnectionMultiplexer _redis = null!;
    private SwitchableRedis _sessionStore = null!;
    private WebApplicationFactory<Program> _console = null!;

    public async Task InitializeAsync()
    {
        var connectionString = (await TestServers.RedisAsync()).ConnectionString;
        _redis = await ConnectionMultiplexer.ConnectAsync(connectionString);
        (var store, _sessionStore) = SwitchableRedis.Over(_redis);
        _console = new WebApplicationFactory<Program>().WithWebHostBuilder(web => web
            .UseSetting("ConnectionStrings:redis", connectionString)
            .ConfigureTestServices(services => services.AddSingleton(store)));
    }

    public async Task DisposeAsync()
    {
        await _console.DisposeAsync();
        await _redis.DisposeAsync();
    }

    /// <summary>Before, the operator saw the exception handler's problem+json: the console had no PageErrors.</summary>
    [Fact]
    public async Task A_signed_in_page_while_Redis_times_out_shows_the_status_page_not_problem_json()
    {
        using var browser = _console.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        browser.DefaultRequestHeaders.Accept.ParseAdd("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8");
        browser.DefaultRequestHeaders.Add("Cookie", SessionCookie());
        _sessionStore.Outage = new RedisTimeoutException("Timeout awaiting response", CommandStatus.Sent);

        using var answer = await browser.GetAsync("/");

        Assert.Equal("text/html", answer.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, answer.StatusCode);
        var html = await answer.Content.ReadAsStringAsync();
        Assert.Contains("data-testid=\"status-page\"", html, StringComparison.Ordinal);
        Assert.Contains("data-status=\"503\"", html, StringComparison.Ordinal);
    }

    /// <summary>The cookie the console gives a signed-in admin (made while Redis answers: it holds the cookies' keys too).</summary>
    private string SessionCookie()
    {
        var options = _console.Services.GetRequiredService<IOptionsMonitor<CookieAuthenticationOptions>>().Get(CookieAuthenticationDefaults.AuthenticationScheme);
        var tokens = new StoredTokens("admin-token", DateTimeOffset.UtcNow.AddMinutes(10), "refresh-token", DateTimeOffset.UtcNow.AddDays(1), Guid.NewGuid(), "Local admin", "admin");
        var ticket = new AuthenticationTicket(SessionClaims.Principal(Guid.NewGuid().ToString(), tokens), CookieAuthenticationDefaults.AuthenticationScheme);
        return $"{options.Cookie.Name}={options.TicketDataFormat.Protect(ticket)}";
    }
}
