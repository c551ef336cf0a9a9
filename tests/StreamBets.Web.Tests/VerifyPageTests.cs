using Bunit;
using StreamBets.Web.Components.Pages;
using StreamBets.Web.Gateway;

namespace StreamBets.Web.Tests;

/// <summary>The identity check page: a failed read never takes away the tier the player has.</summary>
public sealed class VerifyPageTests : PlayerPageTest
{
    private const string KycPath = "/api/users/me/kyc";

    [Fact]
    public async Task A_failed_refresh_keeps_the_players_tier_and_the_refresh_button()
    {
        Gateway.Answer(KycPath, TierOneCheckPending());
        var page = Bunit.Render<Verify>();
        page.WaitForAssertion(() => Assert.Single(page.FindAll("[data-testid=kyc-tier]")));
        var tierShown = page.Find("[data-testid=kyc-tier]").TextContent;

        Gateway.Refuse(KycPath, 503, "dependency-unavailable");
        await page.FindAndClickAsync("button.button:not([type=submit])");

        page.WaitForAssertion(() => Assert.Equal("dependency-unavailable", page.Find("[data-testid=problem]").GetAttribute("data-code")));
        Assert.Equal(tierShown, page.Find("[data-testid=kyc-tier]").TextContent);
        Assert.Equal(2, page.FindAll("ol.tiers li.done").Count);
        Assert.Single(page.FindAll("button.button:not([type=submit])"));
    }

    [Fact]
    public async Task The_verify_page_says_it_is_loading_until_the_status_answers_and_offers_to_try_again_when_it_fails()
    {
        Gateway.Refuse(KycPath, 429, "rate-limited");
        var release = Gateway.Hold(KycPath);
        var page = Bunit.Render<Verify>();

        Assert.Single(page.FindAll("[aria-busy=true]"));
        release();
        page.WaitForAssertion(() => Assert.Equal("rate-limited", page.Find("[data-testid=problem]").GetAttribute("data-code")));
        Assert.Empty(page.FindAll("[aria-busy=true]"));

        Gateway.Answer(KycPath, TierOneCheckPending());
        await page.FindAndClickAsync("[data-testid=kyc-retry]");

        page.WaitForAssertion(() => Assert.Single(page.FindAll("[data-testid=kyc-tier]")));
        Assert.Empty(page.FindAll("[data-testid=problem]"));
    }

    private KycStatus TierOneCheckPending() =>
        new(1, "passport", true, false, new KycCheck(Guid.NewGuid(), "sandbox", "pending", null, Clock.GetUtcNow(), null, null));
}
