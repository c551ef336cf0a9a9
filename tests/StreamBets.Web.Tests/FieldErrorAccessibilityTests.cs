using AngleSharp.Html.Parser;

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
