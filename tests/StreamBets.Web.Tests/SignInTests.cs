using StreamBets.FrontEnd.Auth;

namespace StreamBets.Web.Tests;

public sealed class SignInTests
{
    [Theory]
    [InlineData("/pools/3f2504e0-4f89-11d3-9a0c-0305e82c3301", "/pools/3f2504e0-4f89-11d3-9a0c-0305e82c3301")]
    [InlineData("/", "/")]
    [InlineData(null, "/")]
    [InlineData("", "/")]
    [InlineData("https://evil.example/", "/")]
    [InlineData("//evil.example/", "/")]
    [InlineData("/\\evil.example/", "/")]
    [InlineData("pools", "/")]
    [InlineData("/a\nb", "/")] // control characters: LocalRedirect would throw
    [InlineData("~/pools", "/")]
    public void After_sign_in_the_player_only_ever_returns_to_a_page_of_this_site(string? returnUrl, string expected)
    {
        Assert.Equal(expected, SessionSignIn.SafeReturnUrl(returnUrl));
    }
}
