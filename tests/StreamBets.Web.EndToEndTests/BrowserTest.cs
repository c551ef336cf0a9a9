using System.Text.RegularExpressions;
using Microsoft.Playwright;
using StreamBets.AppHost.Testing;
using static Microsoft.Playwright.Assertions;

namespace StreamBets.Web.EndToEndTests;

/// <summary>What every browser test does around its steps: the API driver, signed-in pages, and evidence when a step fails.</summary>
public abstract class BrowserTest(LocalModeAppFixture app, BrowserFixture browser) : IAsyncLifetime
{
    private readonly List<IPage> _pages = [];

    protected GatewayDriver Api { get; } = new(app.App);

    protected BrowserFixture Browser { get; } = browser;

    /// <summary>A channel no other test uses, so one active pool per channel never makes tests collide.</summary>
    protected static string NewChannel() => $"e2e{Guid.NewGuid():N}"[..16];

    /// <summary>A fresh browser profile on <paramref name="site"/>, photographed with the others when a step fails.</summary>
    protected async Task<IPage> NewPageAsync(Uri site, bool phone = false)
    {
        var page = await Browser.NewPageAsync(site, phone);
        _pages.Add(page);
        return page;
    }

    /// <summary>A fresh browser profile signed in as <paramref name="user"/>: on the player app, or on <paramref name="site"/> (the operators' console).</summary>
    protected async Task<IPage> SignedInPageAsync(TestUser user, bool phone = false, Uri? site = null)
    {
        var page = await NewPageAsync(site ?? Api.WebUrl, phone);
        // A step of its own: a sign-in that stays on /signin once failed a clean run, and its screenshot and the
        // services' logs are what can tell why.
        await Step($"sign-in-page{_pages.Count - 1}", async () =>
        {
            await page.GotoAsync("/signin");
            await page.Locator("#email").FillAsync(user.Email);
            await page.Locator("#password").FillAsync(user.Password);
            await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
            try
            {
                await Expect(page).Not.ToHaveURLAsync(AtPath("/signin"), AddressWait);
            }
            catch (PlaywrightException e)
            {
                var said = await page.Locator("[data-testid=problem]").AllInnerTextsAsync();
                throw new InvalidOperationException(
                    $"{user.Email} is still on {page.Url} after signing in; the page says: {(said.Count > 0 ? string.Join(" / ", said) : "no problem")}.", e);
            }
        });
        return page;
    }

    /// <summary>How long a page may take to reach an address on a busy two-core box.</summary>
    protected static readonly PageAssertionsToHaveURLOptions AddressWait = new() { Timeout = 60_000 };

    /// <summary>
    /// An address whose path is <paramref name="path"/>, whatever its query, for <c>Expect(page).ToHaveURLAsync</c>.
    /// Tests wait for the address only and then for the content they look at: <c>WaitForURLAsync</c> also waits for
    /// the load event (even with <c>WaitUntil = Commit</c> once the address matches), and a load event that never
    /// came on a busy box failed a clean CI run whose page had already moved on.
    /// </summary>
    protected static Regex AtPath(string path) => new($"^[a-z]+://[^/]+{Regex.Escape(path)}([?#]|$)", RegexOptions.IgnoreCase);

    /// <summary>Runs one step; when it fails, every open page is photographed under the step's name before the failure surfaces.</summary>
    protected async Task Step(string name, Func<Task> step)
    {
        try
        {
            await step();
        }
        catch
        {
            for (var i = 0; i < _pages.Count; i++)
            {
                await BrowserFixture.ScreenshotAsync(_pages[i], $"failed-{name}-page{i}");
            }
            WriteResourceLogs(name);
            throw;
        }
    }

    /// <summary>The services' console output next to the screenshots, for reading a failure after the app has stopped.</summary>
    private void WriteResourceLogs(string step)
    {
        foreach (var (resource, lines) in app.ResourceLogLines)
        {
            File.WriteAllLines(Path.Combine(BrowserFixture.ScreenshotDirectory, $"failed-{step}-{resource}.log"), lines.TakeLast(400));
        }
    }

    public Task InitializeAsync() => Api.WaitUntilReadyAsync();

    public async Task DisposeAsync()
    {
        foreach (var page in _pages)
        {
            await page.Context.CloseAsync();
        }
        Api.Dispose();
    }
}
