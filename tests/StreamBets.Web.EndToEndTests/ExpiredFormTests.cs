using System.Text.RegularExpressions;
using Microsoft.Playwright;
using StreamBets.AppHost.Testing;
using static Microsoft.Playwright.Assertions;

namespace StreamBets.Web.EndToEndTests;

/// <summary>
/// A form whose antiforgery token no longer holds (its cookie gone, or the person signed in or out in another tab):
/// nothing is done, and the person is back on the page with a fresh form and a line saying why, not the framework's
/// one-line 400 text. Clearing the antiforgery cookie is how a test makes a token stale.
/// </summary>
[Collection(WebAppCollection.Name)]
public sealed partial class ExpiredFormTests(LocalModeAppFixture app, BrowserFixture browser) : BrowserTest(app, browser)
{
    [GeneratedRegex("Antiforgery")]
    private static partial Regex AntiforgeryCookie();

    [Fact]
    public async Task A_stale_sign_in_or_sign_out_form_does_nothing_and_brings_the_person_back_to_a_fresh_form()
    {
        var player = await Api.NewPlayerAsync("stale");
        var visitor = await NewPageAsync(Api.WebUrl);
        await Step("stale-sign-in", async () =>
        {
            await visitor.GotoAsync("/signin?returnUrl=%2Fwallet");
            await visitor.Locator("#email").FillAsync(player.Email);
            await visitor.Locator("#password").FillAsync(player.Password);
            await visitor.Context.ClearCookiesAsync(new() { NameRegex = AntiforgeryCookie() });
            await visitor.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();

            await Expect(visitor.Locator("[data-testid=form-expired]")).ToContainTextAsync("nothing was sent");
            Assert.Equal("/signin", new Uri(visitor.Url).AbsolutePath);
            await Expect(visitor.GetByRole(AriaRole.Link, new() { Name = "Sign in" }).First).ToBeVisibleAsync();
            await BrowserFixture.ScreenshotAsync(visitor, "stale-sign-in-form");
        });

        await Step("fresh-form-works", async () =>
        {
            // The fresh form's own answer is about this attempt: the expiry line goes.
            await visitor.Locator("#email").FillAsync(player.Email);
            await visitor.Locator("#password").FillAsync("not-the-password");
            await visitor.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
            await Expect(visitor.Locator("[data-testid=problem]")).ToBeVisibleAsync();
            await Expect(visitor.Locator("[data-testid=form-expired]")).ToHaveCountAsync(0);

            await visitor.Locator("#email").FillAsync(player.Email);
            await visitor.Locator("#password").FillAsync(player.Password);
            await visitor.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
            // The return address survived the detour.
            await Expect(visitor).ToHaveURLAsync(AtPath("/wallet"), AddressWait);
            await Expect(visitor.Locator("[data-testid=form-expired]")).ToHaveCountAsync(0);
        });

        await Step("stale-sign-out", async () =>
        {
            await visitor.Context.ClearCookiesAsync(new() { NameRegex = AntiforgeryCookie() });
            await visitor.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
            // Not signed out by a form that cannot prove it came from this page.
            await Expect(visitor.Locator("[data-testid=form-expired]")).ToBeVisibleAsync();
            Assert.Equal("/wallet", new Uri(visitor.Url).AbsolutePath);
            await Expect(visitor.GetByRole(AriaRole.Button, new() { Name = "Sign out" })).ToBeVisibleAsync();

            await visitor.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
            await Expect(visitor.GetByRole(AriaRole.Link, new() { Name = "Sign in" }).First).ToBeVisibleAsync();
        });

        var console = await NewPageAsync(Api.AdminUrl);
        await Step("console-stale-sign-in", async () =>
        {
            await console.GotoAsync("/signin");
            await console.Context.ClearCookiesAsync(new() { NameRegex = AntiforgeryCookie() });
            await console.Locator("#email").FillAsync(player.Email);
            await console.Locator("#password").FillAsync(player.Password);
            await console.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
            await Expect(console.Locator("[data-testid=form-expired]")).ToContainTextAsync("nothing was sent");
        });
    }
}
