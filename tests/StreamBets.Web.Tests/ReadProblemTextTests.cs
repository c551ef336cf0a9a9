using System.Globalization;
using System.Resources;
using Bunit;
using StreamBets.Web.Components.Pages;
using StreamBets.Web.Gateway;

namespace StreamBets.Web.Tests;

/// <summary>
/// A page whose own read went unanswered changed nothing: it says to try again, not that "a change may or may not have
/// been made" (the text for an unanswered change).
/// </summary>
public sealed class ReadProblemTextTests : PlayerPageTest
{
    private static readonly ResourceManager Strings = new("StreamBets.Web.Resources.SharedResource", typeof(SharedResource).Assembly);

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Bunit.AddAuthorization().SetAuthorized("Ana");
    }

    [Fact]
    public void Home_whose_first_read_went_unanswered_says_to_try_again()
    {
        Gateway.Refuse("/api/pools/channels", 503, "dependency-unavailable");

        var page = Bunit.Render<Home>();

        page.WaitForAssertion(() => Assert.Equal("dependency-unavailable", page.Find("[data-testid=problem]").GetAttribute("data-code")));
        var shown = page.Find("[data-testid=problem]").TextContent;
        Assert.DoesNotContain(Strings.GetString("Problem_dependency-unavailable", CultureInfo.CurrentUICulture)!, shown, StringComparison.Ordinal);
        Assert.Contains(Strings.GetString("Problem_dependency-unavailable-read", CultureInfo.CurrentUICulture)!, shown, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("en", "Try again in a few seconds.")]
    [InlineData("pt-BR", "Tente de novo em alguns segundos.")]
    public void The_read_text_is_written_in_both_languages(string culture, string expected) =>
        Assert.Contains(expected, Strings.GetString("Problem_dependency-unavailable-read", new CultureInfo(culture)), StringComparison.Ordinal);
}
