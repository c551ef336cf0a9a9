using StreamBets.AppHost.Testing;
using static Microsoft.Playwright.Assertions;

namespace StreamBets.Web.EndToEndTests;

/// <summary>Pages are not prerendered: until the circuit connects the browser has only the server's first answer to show.</summary>
[Collection(WebAppCollection.Name)]
public sealed class FirstPaintTests(LocalModeAppFixture app, BrowserFixture browser) : BrowserTest(app, browser)
{
    [Fact]
    public async Task The_first_answer_says_the_page_is_loading_and_the_note_goes_once_the_page_shows()
    {
        var page = await NewPageAsync(Api.WebUrl);
        await Step("loading", async () =>
        {
            // What a slow connection shows before the circuit: not an empty screen.
            var first = await page.Context.APIRequest.GetAsync("/");
            Assert.Contains("<p class=\"app-loading\" aria-busy=\"true\">Loading&#x2026;</p>", await first.TextAsync());

            await page.GotoAsync("/");
            await Expect(page.Locator("h1")).ToBeVisibleAsync();
            await Expect(page.Locator(".app-loading").First).ToBeHiddenAsync();

            // A static page has its layout in the first answer: the note never shows.
            await page.GotoAsync("/signin");
            await Expect(page.Locator(".app-loading").First).ToBeHiddenAsync();
        });
    }
}
