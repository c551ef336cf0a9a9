using System.Net;
using Microsoft.AspNetCore.Mvc.Testing;
using StreamBets.Testing;

namespace StreamBets.Web.Tests;

/// <summary>
/// Choosing a language goes back to the page it was chosen on, and only to a page of this site: a crafted link that is not
/// one goes home, never to a 500.
/// </summary>
public sealed class CultureEndpointTests : IAsyncLifetime
{
    private WebApplicationFactory<Program> _site = null!;
    private HttpClient _browser = null!;

    public async Task InitializeAsync()
    {
        var redis = (await TestServers.RedisAsync()).ConnectionString;
        _site = new WebApplicationFactory<Program>().WithWebHostBuilder(web => web.UseSetting("ConnectionStrings:redis", redis));
        _browser = _site.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
    }

    public async Task DisposeAsync()
    {
        _browser.Dispose();
        await _site.DisposeAsync();
    }

    [Theory]
    [InlineData("/pools/3f2504e0-4f89-11d3-9a0c-0305e82c3301", "/pools/3f2504e0-4f89-11d3-9a0c-0305e82c3301")]
    [InlineData("/%5Cevil.example", "/")]
    [InlineData("/a%0Ab", "/")]
    [InlineData("//evil.example", "/")]
    [InlineData("https://evil.example/", "/")]
    public async Task Choosing_a_language_goes_back_only_to_a_page_of_this_site(string redirectUri, string expected)
    {
        using var answer = await _browser.GetAsync($"/culture?culture=pt-BR&redirectUri={redirectUri}");

        Assert.Equal(HttpStatusCode.Redirect, answer.StatusCode);
        Assert.Equal(expected, answer.Headers.Location?.OriginalString);
        Assert.Contains(answer.Headers.GetValues("Set-Cookie"), cookie => cookie.StartsWith(".AspNetCore.Culture=", StringComparison.Ordinal));
    }
}
