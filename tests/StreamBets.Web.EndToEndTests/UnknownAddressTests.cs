using Microsoft.Playwright;
using StreamBets.AppHost.Testing;
using static Microsoft.Playwright.Assertions;

namespace StreamBets.Web.EndToEndTests;

/// <summary>
/// A mistyped or stale address, in the player app and the console: a page of the app with status 404 and a way back,
/// in the player's language, never the services' raw problem document (which is what a browser got before).
/// </summary>
[Collection(WebAppCollection.Name)]
public sealed class UnknownAddressTests(LocalModeAppFixture app, BrowserFixture browser) : BrowserTest(app, browser)
{
    [Fact]
    public async Task An_unknown_address_shows_a_page_of_the_app_with_status_404_and_a_way_back()
    {
        var visitor = await NewPageAsync(Api.WebUrl);
        await Step("signed-out", async () =>
        {
            var response = await visitor.GotoAsync("/no-such-page");
            Assert.Equal(404, response!.Status);
            await Expect(visitor.Locator("h1")).ToHaveTextAsync("Page not found");
            await Expect(visitor.GetByRole(AriaRole.Link, new() { Name = "Sign in" }).First).ToBeVisibleAsync();
            await visitor.GetByRole(AriaRole.Link, new() { Name = "Go to the live pools" }).ClickAsync();
            await Expect(visitor).ToHaveURLAsync(AtPath("/"), AddressWait);
        });

        var player = await SignedInPageAsync(await Api.NewPlayerAsync("lost"));
        await Step("signed-in-portuguese", async () =>
        {
            await player.GetByRole(AriaRole.Link, new() { Name = "PT" }).ClickAsync();
            await Expect(player.Locator("html")).ToHaveAttributeAsync("lang", "pt-BR");
            // A pool id that is not an id matches no page either.
            var response = await player.GotoAsync("/pools/not-a-pool");
            Assert.Equal(404, response!.Status);
            await Expect(player.Locator("h1")).ToHaveTextAsync("Página não encontrada");
            await Expect(player.GetByRole(AriaRole.Button, new() { Name = "Sair" })).ToBeVisibleAsync();
            // A static page has no live balance: no chip stuck on "…".
            await Expect(player.Locator("[data-testid=balance]")).ToHaveCountAsync(0);
            await BrowserFixture.ScreenshotAsync(player, "not-found-pt-BR");
        });

        await Step("inside-the-app", async () =>
        {
            // Reached from a page of the running app: the router shows the same page.
            await player.GotoAsync("/wallet");
            await Expect(player.Locator("h1")).ToHaveTextAsync("Carteira");
            await player.EvaluateAsync("Blazor.navigateTo('/no-such-page')");
            await Expect(player.Locator("h1")).ToHaveTextAsync("Página não encontrada");
        });

        var console = await NewPageAsync(Api.AdminUrl);
        await Step("console", async () =>
        {
            var response = await console.GotoAsync("/no-such-page");
            Assert.Equal(404, response!.Status);
            await Expect(console.Locator("h1")).ToHaveTextAsync("Page not found");
        });
    }
}
