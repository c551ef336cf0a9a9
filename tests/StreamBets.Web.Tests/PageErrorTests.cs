using System.Net;
using StackExchange.Redis;

namespace StreamBets.Web.Tests;

/// <summary>
/// A page that fails shows the player the site's status page in their language, never the services' problem document:
/// above all while Redis, which holds the session's tokens, does not answer.
/// </summary>
public sealed class PageErrorTests : IAsyncLifetime
{
    private PlayerSite _site = null!;

    public async Task InitializeAsync() => _site = await PlayerSite.StartAsync();

    public async Task DisposeAsync() => await _site.DisposeAsync();

    [Theory]
    [InlineData("en", "Something went wrong")]
    [InlineData("pt-BR", "Algo deu errado")]
    public async Task A_signed_in_page_while_Redis_times_out_shows_the_status_page_not_problem_json(string culture, string title)
    {
        using var browser = _site.Browser(culture);
        browser.DefaultRequestHeaders.Add("Cookie", _site.SessionCookie());
        _site.SessionStoreFails(new RedisTimeoutException("Timeout awaiting response", CommandStatus.Sent));

        using var answer = await browser.GetAsync("/wallet");

        Assert.Equal("text/html", answer.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, answer.StatusCode);
        var html = await answer.Content.ReadAsStringAsync();
        Assert.Contains("data-status=\"503\"", html, StringComparison.Ordinal);
        Assert.Contains(title, html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Signing_in_while_Redis_refuses_the_tokens_shows_the_status_page_and_sets_no_cookie()
    {
        using var browser = _site.Browser();
        _site.Gateway.Answer("/api/users/login", PlayerSite.Tokens());
        using var form = await PlayerSite.FormAsync(browser, "/signin", "signin", new Dictionary<string, string>
        {
            ["Email"] = "ana@example.com",
            ["Password"] = "correct horse battery",
        });
        _site.SessionStoreFails(new RedisConnectionException(ConnectionFailureType.UnableToConnect, "No connection is active/available to service this operation"));

        using var answer = await browser.PostAsync("/signin", form);

        Assert.Equal("text/html", answer.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, answer.StatusCode);
        Assert.Contains("data-testid=\"status-page\"", await answer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain(answer.Headers.TryGetValues("Set-Cookie", out var cookies) ? cookies : [],
            cookie => cookie.StartsWith("streambets=", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_request_that_asks_for_json_keeps_the_problem_document()
    {
        using var client = _site.JsonClient();
        client.DefaultRequestHeaders.Add("Cookie", _site.SessionCookie());
        _site.SessionStoreFails(new RedisTimeoutException("Timeout awaiting response", CommandStatus.Sent));

        using var answer = await client.GetAsync("/wallet");

        Assert.Equal("application/problem+json", answer.Content.Headers.ContentType?.MediaType);
    }
}
