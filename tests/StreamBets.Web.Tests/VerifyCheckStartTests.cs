using Bunit;
using StreamBets.Web.Components.Pages;
using StreamBets.Web.Gateway;

namespace StreamBets.Web.Tests;

/// <summary>
/// A check's start can outlast the client's wait (the provider takes up to about 20 s): a start refused as already in
/// progress, or whose answer was lost, shows the check under way, never the start form again.
/// </summary>
public sealed class VerifyCheckStartTests : PlayerPageTest
{
    private const string KycPath = "/api/users/me/kyc";
    private const string ChecksPath = "/api/users/me/kyc/checks";

    [Fact]
    public async Task A_start_refused_as_already_in_progress_reads_the_status_again_and_shows_the_check_under_way()
    {
        var page = StartFormShown();
        Gateway.Refuse(ChecksPath, 409, "kyc-check-in-progress");
        Gateway.Answer(KycPath, TierOne(check: "pending"));

        await StartAsync(page);

        page.WaitForAssertion(() => Assert.Single(page.FindAll("[data-testid=check-in-progress]")));
        Assert.Empty(page.FindAll("#first-name"));
        Assert.Empty(page.FindAll("[data-testid=problem]"));
        Assert.Equal(2, Gateway.Requests.Count(path => path == KycPath));
    }

    [Fact]
    public async Task A_start_refused_as_in_progress_shows_the_check_under_way_though_the_status_does_not_list_it_yet()
    {
        // GET /me/kyc lists a started check only once the provider has answered (docs/users.md).
        var page = StartFormShown();
        Gateway.Refuse(ChecksPath, 409, "kyc-check-in-progress");

        await StartAsync(page);

        page.WaitForAssertion(() => Assert.Single(page.FindAll("[data-testid=check-in-progress]")));
        Assert.Empty(page.FindAll("#first-name"));

        // Refreshed once the provider answered: the status tells.
        Gateway.Answer(KycPath, TierOne(check: "rejected"));
        await page.FindAndClickAsync("[data-testid=check-in-progress] + button");
        page.WaitForAssertion(() => Assert.Single(page.FindAll("#first-name")));
    }

    [Fact]
    public async Task A_start_whose_answer_was_lost_reads_the_status_again_and_says_the_check_may_have_started()
    {
        var page = StartFormShown();
        Gateway.Refuse(ChecksPath, 504, "dependency-unavailable"); // the gateway gave up waiting

        await StartAsync(page);

        page.WaitForAssertion(() => Assert.Contains("may have started", page.Find("[data-testid=check-in-progress]").TextContent));
        Assert.Empty(page.FindAll("#first-name"));
        Assert.Equal(2, Gateway.Requests.Count(path => path == KycPath));
    }

    private IRenderedComponent<Verify> StartFormShown()
    {
        Gateway.Answer(KycPath, TierOne(check: null));
        var page = Bunit.Render<Verify>();
        page.WaitForAssertion(() => Assert.Single(page.FindAll("#first-name")));
        return page;
    }

    private static async Task StartAsync(IRenderedComponent<Verify> page)
    {
        await page.InvokeAsync(() => page.Find("#first-name").Change("Ana"));
        await page.InvokeAsync(() => page.Find("#last-name").Change("Souza"));
        await page.InvokeAsync(() => page.Find("form").SubmitAsync());
    }

    private KycStatus TierOne(string? check) => new(1, "passport", true, false,
        check is null ? null : new KycCheck(Guid.NewGuid(), "sandbox", check, null, Clock.GetUtcNow(), null, check == "rejected" ? "The name did not match." : null));
}
