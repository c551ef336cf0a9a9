using System.Net;
using StreamBets.Web.Gateway;

namespace StreamBets.Web.Tests;

/// <summary>The sign-in and sign-up forms as a browser posts them: what their answers show, and never show.</summary>
public sealed class AccountFormTests : IAsyncLifetime
{
    private const string Password = "Typed-Secret-4711";
    private PlayerSite _site = null!;

    public async Task InitializeAsync() => _site = await PlayerSite.StartAsync();

    public async Task DisposeAsync() => await _site.DisposeAsync();

    [Fact]
    public async Task A_refused_sign_in_does_not_write_the_typed_password_into_the_page()
    {
        using var browser = _site.Browser();
        _site.Gateway.Refuse("/api/users/login", 401, "invalid-credentials");
        using var form = await PlayerSite.FormAsync(browser, "/signin", "signin", new Dictionary<string, string>
        {
            ["Email"] = "ana@example.com",
            ["Password"] = Password,
        });

        using var answer = await browser.PostAsync("/signin", form);

        var html = await answer.Content.ReadAsStringAsync();
        Assert.Contains("data-code=\"invalid-credentials\"", html, StringComparison.Ordinal);
        Assert.Contains("ana@example.com", html, StringComparison.Ordinal); // the email is kept to correct
        Assert.DoesNotContain(Password, html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_sign_up_refused_for_a_field_does_not_write_the_typed_password_into_the_page()
    {
        using var browser = _site.Browser();
        _site.Gateway.Refuse("/api/users/register", 400, "invalid-request",
            new Dictionary<string, string[]> { ["displayName"] = ["The display name is taken."] });

        using var answer = await browser.PostAsync("/signup", await SignUpFormAsync(browser));

        var html = await answer.Content.ReadAsStringAsync();
        Assert.Contains("data-code=\"invalid-request\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, html, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(503, "dependency-unavailable", "en", "Your account was created")]
    [InlineData(429, "rate-limited", "pt-BR", "Sua conta foi criada")]
    public async Task A_sign_up_whose_sign_in_fails_tells_the_player_the_account_exists_and_to_sign_in(int status, string code, string culture, string notice)
    {
        using var browser = _site.Browser(culture);
        _site.Gateway.Answer("/api/users/register",
            new Profile(Guid.NewGuid(), "ana@example.com", "Ana", null, "player", 0, "PT", new DateOnly(1990, 5, 1), false));
        _site.Gateway.Refuse("/api/users/login", status, code);

        using var answer = await browser.PostAsync("/signup", await SignUpFormAsync(browser));

        Assert.Equal(HttpStatusCode.Redirect, answer.StatusCode);
        var signIn = await browser.GetStringAsync(answer.Headers.Location);
        Assert.Contains("data-testid=\"account-created\"", signIn, StringComparison.Ordinal);
        Assert.Contains(notice, signIn, StringComparison.Ordinal);
    }

    private static Task<FormUrlEncodedContent> SignUpFormAsync(HttpClient browser) =>
        PlayerSite.FormAsync(browser, "/signup", "signup", new Dictionary<string, string>
        {
            ["Email"] = "ana@example.com",
            ["Password"] = Password,
            ["DisplayName"] = "Ana",
            ["DateOfBirth"] = "1990-05-01",
            ["Country"] = "PT",
            ["Cpf"] = "",
            ["MarketingOptIn"] = "false",
        });
}
