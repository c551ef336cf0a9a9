using System.Net;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StreamBets.FrontEnd.Auth;

namespace StreamBets.Admin.Tests;

/// <summary>
/// A signed-in account that is not an admin (an admin demoted since signing in) is told the console is for operators,
/// with Sign out. Before, the cookie sign-in sent it to "/", which requires the role too: redirected there again and
/// again, the browser gave up with "too many redirects".
/// </summary>
public sealed class AccessDeniedTests(ConsoleServer console) : IClassFixture<ConsoleServer>
{
    [Fact]
    public async Task A_signed_in_player_is_sent_to_a_page_that_says_operators_only_with_sign_out_not_round_in_a_loop()
    {
        using var browser = await SignedInBrowserAsync(role: "player");

        using var denied = await browser.GetAsync("/live");
        Assert.Equal(HttpStatusCode.Redirect, denied.StatusCode);
        var deniedAt = denied.Headers.Location!;
        Assert.Equal("/access-denied", (deniedAt.IsAbsoluteUri ? deniedAt.AbsolutePath : deniedAt.OriginalString.Split('?')[0]));

        using var page = await browser.GetAsync(deniedAt);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("Operators only", html, StringComparison.Ordinal);
        Assert.Contains("action=\"account/signout\"", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_admin_who_signed_in_from_the_page_goes_on_to_the_console_not_told_they_are_no_admin()
    {
        // Signed out on /access-denied (a reload after the session expired), the sign-in returns there.
        using var browser = await SignedInBrowserAsync(role: "admin");

        using var page = await browser.GetAsync("/access-denied");

        Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
        var to = page.Headers.Location!;
        Assert.Equal("/", to.IsAbsoluteUri ? to.AbsolutePath : to.OriginalString);
    }

    /// <summary>A browser that asks for pages, follows no redirect, and is signed in as a user of <paramref name="role"/>.</summary>
    private async Task<HttpClient> SignedInBrowserAsync(string role)
    {
        var browser = console.Factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        browser.DefaultRequestHeaders.Accept.ParseAdd("text/html");
        browser.DefaultRequestHeaders.Add("Cookie", await SessionCookieAsync(role));
        return browser;
    }

    /// <summary>The cookie the console gives a signed-in user of <paramref name="role"/>, their session's tokens in Redis.</summary>
    private async Task<string> SessionCookieAsync(string role)
    {
        var sessionId = Guid.NewGuid().ToString();
        var tokens = new StoredTokens("token", DateTimeOffset.UtcNow.AddMinutes(10), "refresh-token", DateTimeOffset.UtcNow.AddDays(1), Guid.NewGuid(), "Console user", role);
        await console.Factory.Services.GetRequiredService<SessionTokens>().SaveAsync(sessionId, tokens);
        var options = console.Factory.Services.GetRequiredService<IOptionsMonitor<CookieAuthenticationOptions>>().Get(CookieAuthenticationDefaults.AuthenticationScheme);
        var ticket = new AuthenticationTicket(SessionClaims.Principal(sessionId, tokens), CookieAuthenticationDefaults.AuthenticationScheme);
        return $"{options.Cookie.Name}={options.TicketDataFormat.Protect(ticket)}";
    }
}
