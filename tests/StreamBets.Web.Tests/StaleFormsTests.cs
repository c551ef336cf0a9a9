using Microsoft.AspNetCore.Http;
using StreamBets.FrontEnd.Auth;

namespace StreamBets.Web.Tests;

public sealed class StaleFormsTests
{
    [Theory]
    [InlineData("http://app.local:5200/signin?returnUrl=%2Fwallet", "/signin?returnUrl=%2Fwallet&formExpired=true")]
    [InlineData("http://app.local:5200/wallet", "/wallet?formExpired=true")]
    [InlineData("http://app.local:5200/wallet?formExpired=true", "/wallet?formExpired=true")]
    [InlineData("https://evil.example/phish", "/?formExpired=true")]
    [InlineData("http://app.local:5200//evil.example/x", "/?formExpired=true")]
    [InlineData("http://app.local:5201/wallet", "/?formExpired=true")]
    [InlineData("", "/?formExpired=true")]
    [InlineData("not a url", "/?formExpired=true")]
    public void A_stale_form_goes_back_to_the_page_of_this_site_that_posted_it(string referer, string expected)
    {
        var request = new DefaultHttpContext().Request;
        request.Host = new HostString("app.local", 5200);
        request.Headers.Referer = referer;

        Assert.Equal(expected, StaleForms.BackTo(request));
    }

    [Theory]
    [InlineData("http://app.local/signin?formExpired=true", "GET", true)]
    [InlineData("http://app.local/signin?returnUrl=%2F&formExpired=true", "GET", true)]
    [InlineData("http://app.local/wallet?formExpired=true", null, true)]
    [InlineData("http://app.local/signin?formExpired=true", "POST", false)]
    [InlineData("http://app.local/signin?expired=true", "GET", false)]
    [InlineData("http://app.local/wallet", null, false)]
    public void The_page_says_why_only_when_the_redirect_brought_the_person_there(string uri, string? staticRenderMethod, bool shown)
    {
        // An interactive render has no HttpContext; a static one has the request it answers.
        var context = staticRenderMethod is null ? null : new DefaultHttpContext { Request = { Method = staticRenderMethod } };

        Assert.Equal(shown, StaleForms.CameBack(uri, context));
    }
}
