using Microsoft.AspNetCore.Mvc.Testing;

namespace StreamBets.Admin.Tests;

/// <summary>
/// No other page may show the operators' console in a frame (a decoy laid over it would steer an operator's click onto
/// "approve KYC" or "end sessions"). The rules live in StreamBets.FrontEnd (BrowserSecurityHeaders, the session cookie),
/// shared with the player site, whose tests cover the cookie and HSTS outside Development; this checks the console uses them.
/// </summary>
public sealed class BrowserSecurityHeadersTests(ConsoleServer console) : IClassFixture<ConsoleServer>
{
    [Theory]
    [InlineData("/")]
    [InlineData("/signin")]
    [InlineData("/no-such-page")]
    public async Task Every_page_forbids_being_framed_and_content_type_guessing(string page)
    {
        using var browser = console.Factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

        using var answer = await browser.GetAsync(page);

        Assert.Equal("DENY", Assert.Single(answer.Headers.GetValues("X-Frame-Options")));
        Assert.Equal("frame-ancestors 'none'", Assert.Single(answer.Headers.GetValues("Content-Security-Policy")));
        Assert.Equal("nosniff", Assert.Single(answer.Headers.GetValues("X-Content-Type-Options")));
        Assert.Equal("strict-origin-when-cross-origin", Assert.Single(answer.Headers.GetValues("Referrer-Policy")));
    }
}
