using Microsoft.Playwright;

namespace StreamBets.Web.EndToEndTests;

/// <summary>
/// One headless Debian Chromium for the whole run, driven by Playwright without its own browser download
/// (never <c>playwright install</c>: the machines here have no internet).
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    /// <summary>Screenshots of the key screens, kept as test artifacts (override with STREAMBETS_SCREENSHOTS).</summary>
    public static string ScreenshotDirectory { get; } =
        Environment.GetEnvironmentVariable("STREAMBETS_SCREENSHOTS") ?? Path.Combine(AppContext.BaseDirectory, "TestResults", "screenshots");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(ScreenshotDirectory);
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
    }

    /// <summary>A fresh browser profile (its own cookies) in English, phone-sized or desktop-sized.</summary>
    public async Task<IPage> NewPageAsync(Uri baseUrl, bool phone = false, string locale = "en-US")
    {
        var context = await Browser.NewContextAsync(new()
        {
            BaseURL = baseUrl.ToString(),
            Locale = locale,
            ViewportSize = phone ? new ViewportSize { Width = 390, Height = 844 } : new ViewportSize { Width = 1280, Height = 900 },
            IsMobile = phone,
            HasTouch = phone,
        });
        // A busy two-core machine: give the circuit and the services time, never a fixed sleep.
        context.SetDefaultTimeout(60_000);
        return await context.NewPageAsync();
    }

    public static Task ScreenshotAsync(IPage page, string name) =>
        page.ScreenshotAsync(new() { Path = Path.Combine(ScreenshotDirectory, name + ".png"), FullPage = true });

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }
        _playwright?.Dispose();
    }
}
