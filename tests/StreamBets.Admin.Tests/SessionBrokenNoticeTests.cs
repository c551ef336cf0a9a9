
namespace StreamBets.Admin.Tests;

/// <summary>
/// A console page whose circuit dies (an unhandled error) says so, with a way to reload: before, the console had no
/// error UI, so the page stayed up while every click did nothing.
/// </summary>
public sealed class SessionBrokenNoticeTests(ConsoleServer console) : IClassFixture<ConsoleServer>
{
    [Fact]
    public async Task Every_page_carries_an_alert_with_a_reload_link_that_Blazor_shows_when_the_circuit_dies_hidden_until_then()
    {
        using var browser = console.Factory.CreateClient();

        var html = await browser.GetStringAsync("/signin");

        Assert.Matches("<div id=\"blazor-error-ui\" role=\"alert\"[^>]*>[^<]*<a href=\"[^\"]*\" class=\"reload\">Reload</a>", html);
        var css = await browser.GetStringAsync("/app.css");
        Assert.Matches(@"#blazor-error-ui \{ display: none;", css);
    }
}
