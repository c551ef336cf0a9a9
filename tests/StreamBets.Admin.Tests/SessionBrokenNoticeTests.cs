using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using StreamBets.Testing;

namespace StreamBets.Admin.Tests;

/// <summary>
/// A console page whose circuit dies (an unhandled error) says so, with a way to reload: before, the console had no
/// error UI, so the page stayed up while every click did nothing.
/// </summary>
public sealed class SessionBrokenNoticeTests : IAsyncLifetime
{
    private WebApplicationFactory<Program> _console = null!;

    public async Task InitializeAsync()
    {
        var redis = (await TestServers.RedisAsync()).ConnectionString;
        _console = new WebApplicationFactory<Program>().WithWebHostBuilder(web => web.UseSetting("ConnectionStrings:redis", redis));
    }

    public async Task DisposeAsync() => await _console.DisposeAsync();

    [Fact]
    public async Task Every_page_carries_an_alert_with_a_reload_link_that_Blazor_shows_when_the_circuit_dies_hidden_until_then()
    {
        using var browser = _console.CreateClient();

        var html = await browser.GetStringAsync("/signin");

        Assert.Matches("<div id=\"blazor-error-ui\" role=\"alert\"[^>]*>[^<]*<a href=\"[^\"]*\" class=\"reload\">Reload</a>", html);
        var css = await browser.GetStringAsync("/app.css");
        Assert.Matches(@"#blazor-error-ui \{ display: none;", css);
    }
}
