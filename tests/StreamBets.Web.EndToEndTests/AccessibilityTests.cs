using Deque.AxeCore.Playwright;
using Microsoft.Playwright;
using StreamBets.AppHost.Testing;
using static Microsoft.Playwright.Assertions;

namespace StreamBets.Web.EndToEndTests;

/// <summary>
/// axe-core (the engine behind browser accessibility checkers) over every page of the player app, on a desktop and a
/// phone, and of the console, each with real content (a live pool with a bet, wallet history): no violation of any
/// impact. A failure lists each rule with the elements that break it.
/// </summary>
[Collection(WebAppCollection.Name)]
public sealed class AccessibilityTests(LocalModeAppFixture app, BrowserFixture browser) : BrowserTest(app, browser)
{
    [Fact]
    public async Task Every_page_passes_axe_with_content_on_a_desktop_and_a_phone()
    {
        var channel = NewChannel();
        var (streamerUser, player) = (await Api.NewStreamerAsync("streamer", channel), await Api.NewPlayerAsync("axe"));
        await Api.DepositAsync(player, 100_00);
        var pool = await Api.CreatePoolAsync(streamerUser, channel, "Accessible to all?", ["Yes", "No", "Maybe"]);
        await Api.PlaceBetAsync(player, pool, "Yes", 10_00);

        // A resolved pool too: its page shows the winner instead of the bet form.
        var otherChannel = NewChannel();
        var otherStreamer = await Api.NewStreamerAsync("decided", otherChannel);
        var resolved = await Api.CreatePoolAsync(otherStreamer, otherChannel, "Already decided?", ["Yes", "No"]);
        await Api.PlaceBetAsync(player, resolved, "No", 5_00);
        await Api.LockAndResolveAsync(otherStreamer, resolved, "Yes");

        var violations = new List<string>();
        var visitor = await NewPageAsync(Api.WebUrl);
        foreach (var path in new[] { "/", "/signin", "/signup", "/responsible-gambling", "/no-such-page" })
        {
            violations.AddRange(await AuditAsync(visitor, path, "signed out"));
        }
        await Step("sign-up-refused", async () =>
        {
            await visitor.GotoAsync("/signup");
            await visitor.Locator("#email").FillAsync($"young-{Guid.NewGuid():N}@example.com");
            await visitor.Locator("#password").FillAsync("a-long-enough-password");
            await visitor.Locator("#display-name").FillAsync("Young");
            await visitor.Locator("#dob").FillAsync(DateTime.UtcNow.AddYears(-15).ToString("yyyy-MM-dd"));
            await visitor.Locator("#cpf").FillAsync("123.456.789-00");
            await visitor.GetByRole(AriaRole.Button, new() { Name = "Create account" }).ClickAsync();
            await Expect(visitor.Locator(".field-error").First).ToBeVisibleAsync();
        });
        violations.AddRange(await AuditAsync(visitor, null, "signed out, sign-up refused"));

        var playerPages = new[] { "/", $"/channels/twitch/{channel}", $"/pools/{pool.Id}", $"/pools/{resolved.Id}", "/bets", "/wallet", "/leaderboards", "/responsible-gambling", "/verify", "/account/password" };
        foreach (var phone in new[] { false, true })
        {
            var page = await SignedInPageAsync(player, phone);
            foreach (var path in playerPages)
            {
                violations.AddRange(await AuditAsync(page, path, phone ? "player, phone" : "player"));
            }
        }
        var streamer = await SignedInPageAsync(streamerUser);
        violations.AddRange(await AuditAsync(streamer, $"/streamer?channel=twitch:{channel}", "streamer"));

        var console = await SignedInPageAsync(await Api.SignInAsync(GatewayDriver.AdminEmail, GatewayDriver.AdminPassword), site: Api.AdminUrl);
        foreach (var path in new[] { "/", "/live", "/kyc", "/accounts", "/pools", "/no-such-page" })
        {
            violations.AddRange(await AuditAsync(console, path, "console"));
        }
        await Step("console-account", async () =>
        {
            await console.GotoAsync("/accounts");
            await console.Locator("#email").FillAsync(player.Email);
            await console.GetByRole(AriaRole.Button, new() { Name = "Find" }).ClickAsync();
            await Expect(console.Locator("[data-testid=account]")).ToBeVisibleAsync();
        });
        violations.AddRange(await AuditAsync(console, null, "console, an account"));

        Assert.True(violations.Count == 0, string.Join(Environment.NewLine, violations));
    }

    /// <summary>Opens <paramref name="path"/> (or audits the page as it is), waits until it has loaded its data, and runs axe.</summary>
    private async Task<IEnumerable<string>> AuditAsync(IPage page, string? path, string who)
    {
        var where = $"{who} {path ?? page.Url}";
        var found = new List<string>();
        await Step($"axe {where}".Replace('/', '_'), async () =>
        {
            if (path is not null)
            {
                await page.GotoAsync(path);
            }
            await Expect(page.Locator("h1").First).ToBeVisibleAsync();
            await Expect(page.Locator("[aria-busy=true]:visible")).ToHaveCountAsync(0);
            var result = await page.RunAxe();
            found.AddRange(result.Violations.Select(v =>
                $"{where}: {v.Impact} {v.Id} ({v.Help}): {string.Join(" | ", v.Nodes.Take(3).Select(n => $"{n.Target} {string.Join("; ", n.Any.Concat(n.All).Concat(n.None).Select(c => c.Message))}"))}"));
        });
        return found;
    }
}
