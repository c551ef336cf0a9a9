using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StreamBets.Testing;

namespace StreamBets.Web.Tests;

/// <summary>
/// No other page may show the player site in a frame (a decoy laid over it would steer the player's clicks), and outside
/// Development the session cookie is always Secure and https answers carry HSTS. The tests' host runs in Development
/// (WebApplicationFactory's default), like ./run.sh: plain http, where a Secure cookie would be dropped.
/// </summary>
public sealed class BrowserSecurityHeadersTests : IAsyncLifetime
{
    private WebApplicationFactory<Program> _development = null!;
    private WebApplicationFactory<Program> _production = null!;

    public async Task InitializeAsync()
    {
        var redis = (await TestServers.RedisAsync()).ConnectionString;
        _development = new WebApplicationFactory<Program>().WithWebHostBuilder(web => web.UseSetting("ConnectionStrings:redis", redis));
        _production = _development.WithWebHostBuilder(web => web.UseEnvironment(Environments.Production));
    }

    public async Task DisposeAsync()
    {
        await _production.DisposeAsync();
        await _development.DisposeAsync();
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/signin")]
    [InlineData("/no-such-page")]
    public async Task Every_page_forbids_being_framed_and_content_type_guessing(string page)
    {
        using var browser = _development.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

        using var answer = await browser.GetAsync(page);

        Assert.Equal("DENY", Assert.Single(answer.Headers.GetValues("X-Frame-Options")));
        Assert.Equal("frame-ancestors 'none'", Assert.Single(answer.Headers.GetValues("Content-Security-Policy")));
        Assert.Equal("nosniff", Assert.Single(answer.Headers.GetValues("X-Content-Type-Options")));
        Assert.Equal("strict-origin-when-cross-origin", Assert.Single(answer.Headers.GetValues("Referrer-Policy")));
    }

    [Fact]
    public async Task Outside_development_the_session_cookie_is_always_secure_and_https_answers_carry_HSTS()
    {
        Assert.Equal(CookieSecurePolicy.Always, SessionCookie(_production).SecurePolicy);

        // Not localhost, which HSTS leaves out.
        using var browser = _production.CreateClient(new WebApplicationFactoryClientOptions { BaseAddress = new Uri("https://play.streambets.example/") });
        using var answer = await browser.GetAsync("/signin");

        Assert.StartsWith("max-age=", Assert.Single(answer.Headers.GetValues("Strict-Transport-Security")), StringComparison.Ordinal);
        Assert.Equal("DENY", Assert.Single(answer.Headers.GetValues("X-Frame-Options")));
    }

    [Fact]
    public async Task In_development_the_session_cookie_follows_the_request_scheme_and_no_HSTS_is_sent()
    {
        Assert.True(_development.Services.GetRequiredService<IHostEnvironment>().IsDevelopment());
        Assert.Equal(CookieSecurePolicy.SameAsRequest, SessionCookie(_development).SecurePolicy);

        using var browser = _development.CreateClient(new WebApplicationFactoryClientOptions { BaseAddress = new Uri("https://play.streambets.example/") });
        using var answer = await browser.GetAsync("/signin");

        Assert.False(answer.Headers.Contains("Strict-Transport-Security"));
    }

    private static CookieBuilder SessionCookie(WebApplicationFactory<Program> site) =>
        site.Services.GetRequiredService<IOptionsMonitor<CookieAuthenticationOptions>>().Get(CookieAuthenticationDefaults.AuthenticationScheme).Cookie;
}
