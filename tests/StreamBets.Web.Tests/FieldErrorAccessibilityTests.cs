using AngleSharp.Html.Parser;
using Bunit;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using StreamBets.Testing;
using StreamBets.Web.Components.Pages;
using StreamBets.Web.Gateway;

namespace StreamBets.Web.Tests;

/// <summary>
/// A refused sign-up comes back as a freshly loaded page, where role="alert" is mostly not announced: the field that
/// failed says so itself (aria-invalid) and names its error text (aria-describedby).
/// </summary>
public sealed class SignUpFieldErrorTests : IAsyncLifetime
{
    private PlayerSite _site = null!;

    public async Task InitializeAsync() => _site = await PlayerSite.StartAsync();

    public async Task DisposeAsync() => await _site.DisposeAsync();

    [Fact]
    public async Task A_sign_up_refused_for_the_cpf_marks_the_cpf_input_and_points_it_at_the_error_text()
    {
        using var browser = _site.Browser();
        _site.Gateway.Refuse("/api/users/register", 400, "invalid-request",
            new Dictionary<string, string[]> { ["cpf"] = ["The CPF is not valid."] });
        using var form = await PlayerSite.FormAsync(browser, "/signup", "signup", new Dictionary<string, string>
        {
            ["Email"] = "ana@example.com",
            ["Password"] = "Typed-Secret-4711",
            ["DisplayName"] = "Ana",
            ["DateOfBirth"] = "1990-05-01",
            ["Country"] = "BR",
            ["Cpf"] = "111.111.111-11",
            ["MarketingOptIn"] = "false",
        });

        using var answer = await browser.PostAsync("/signup", form);

        var page = new HtmlParser().ParseDocument(await answer.Content.ReadAsStringAsync());
        var cpf = page.QuerySelector("#cpf")!;
        Assert.Equal("true", cpf.GetAttribute("aria-invalid"));
        var describedBy = cpf.GetAttribute("aria-describedby")!.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("cpf-why", describedBy); // the hint stays
        var errors = describedBy.Select(id => page.GetElementById(id)).Where(e => e?.ClassList.Contains("field-error") == true).ToList();
        var error = Assert.Single(errors)!;
        Assert.False(string.IsNullOrWhiteSpace(error.TextContent));
        Assert.Contains(error.TextContent, page.QuerySelector("#cpf")!.ParentElement!.TextContent, StringComparison.Ordinal);
        // Only the field named is marked.
        Assert.Null(page.QuerySelector("#email")!.GetAttribute("aria-invalid"));
        Assert.Equal("email-why", page.QuerySelector("#email")!.GetAttribute("aria-describedby"));
    }
}

/// <summary>One "invalid amount" message serves three deposit limits: the input it is about is the one marked.</summary>
public sealed class LimitFieldErrorTests : IAsyncLifetime
{
    private const string LimitsPath = "/api/users/me/limits";
    private readonly ScriptedGateway _gateway = new();
    private readonly BunitContext _bunit = new();
    private IConnectionMultiplexer _redis = null!;

    public async Task InitializeAsync()
    {
        BunitContext.DefaultWaitTimeout = TimeSpan.FromSeconds(15);
        (var client, _, _redis) = await _gateway.SignedInAsync();
        _bunit.Services.AddLocalization(options => options.ResourcesPath = "Resources");
        _bunit.Services.AddSingleton(client);
        _bunit.Services.AddSingleton(TimeProvider.System);
        _bunit.AddPlayerClock();
    }

    public async Task DisposeAsync()
    {
        await _bunit.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [Fact]
    public void An_unreadable_weekly_limit_marks_the_weekly_limit_input_only()
    {
        var none = new LimitValue(null, null, null);
        _gateway.Answer(LimitsPath, new Limits(none, none, none, none, null));
        var page = _bunit.Render<ResponsibleGambling>();
        page.WaitForElement("#limit-7d");

        page.Find("#limit-24h").Change("50");
        page.Find("#limit-7d").Change("abc");
        page.Find("#limit-7d").Closest("form")!.Submit();

        page.WaitForAssertion(() => Assert.Equal("invalid-amount", page.Find("[data-testid=problem]").GetAttribute("data-code")));
        Assert.Equal("true", page.Find("#limit-7d").GetAttribute("aria-invalid"));
        Assert.Null(page.Find("#limit-24h").GetAttribute("aria-invalid"));
        Assert.Null(page.Find("#limit-30d").GetAttribute("aria-invalid"));
        Assert.Empty(_gateway.Changes);

        page.Find("#limit-7d").Change("200");
        page.Find("#limit-7d").Closest("form")!.Submit();

        page.WaitForAssertion(() => Assert.Null(page.Find("#limit-7d").GetAttribute("aria-invalid")));
    }
}
