using Bunit;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using StreamBets.Testing;
using StreamBets.Web.Components.Pages;
using StreamBets.Web.Gateway;

namespace StreamBets.Web.Tests;

/// <summary>
/// The responsible-gambling and verification pages: a save changes only what the player changed, an exclusion made is
/// shown as made, and a double click sends once.
/// </summary>
public sealed class AccountSafetyPageTests : IAsyncLifetime
{
    private const string LimitsPath = "/api/users/me/limits";
    private const string ExclusionPath = "/api/users/me/self-exclusion";
    private readonly ScriptedGateway _gateway = new();
    private readonly BunitContext _bunit = new();
    private IConnectionMultiplexer _redis = null!;

    public async Task InitializeAsync()
    {
        BunitContext.DefaultWaitTimeout = TimeSpan.FromSeconds(15);
        (var client, _, _redis) = await _gateway.SignedInAsync();
        _bunit.Services.AddLocalization(options => options.ResourcesPath = "Resources");
        _bunit.Services.AddSingleton(client);
        _bunit.Services.AddSingleton(TimeProvider.System);
        _bunit.AddPlayerClock();
    }

    public async Task DisposeAsync()
    {
        await _bunit.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [Fact]
    public void Changing_only_the_session_limit_keeps_a_pending_deposit_limit_raise_and_its_removal()
    {
        var effective = DateTimeOffset.UtcNow.AddHours(20);
        _gateway.Answer(LimitsPath, new Limits(
            new LimitValue(100_00, 500_00, effective), new LimitValue(300_00, null, effective), new LimitValue(null, null, null), new LimitValue(60, null, null), null));
        var page = _bunit.Render<ResponsibleGambling>();
        page.WaitForElement("#limit-session");

        page.Find("#limit-session").Change("30");
        page.Find("#limit-session").Closest("form")!.Submit();

        page.WaitForAssertion(() => Assert.NotNull(_gateway.LastBody(LimitsPath)));
        var sent = _gateway.LastBody(LimitsPath)!.Value;
        Assert.Equal(500_00, sent.GetProperty("deposit24hMinor").GetInt64()); // the raise asked for, not today's limit
        Assert.Equal(System.Text.Json.JsonValueKind.Null, sent.GetProperty("deposit7dMinor").ValueKind); // the removal asked for
        Assert.Equal(30, sent.GetProperty("sessionMinutes").GetInt64());
    }

    [Fact]
    public void A_session_limit_that_is_not_whole_minutes_says_so()
    {
        _gateway.Answer(LimitsPath, new Limits(new LimitValue(null, null, null), new LimitValue(null, null, null), new LimitValue(null, null, null), new LimitValue(null, null, null), null));
        var page = _bunit.Render<ResponsibleGambling>();
        page.WaitForElement("#limit-session");

        page.Find("#limit-session").Change("1,5");
        page.Find("#limit-session").Closest("form")!.Submit();

        page.WaitForAssertion(() => Assert.Equal("invalid-minutes", page.Find("[data-testid=problem]").GetAttribute("data-code")));
        Assert.Empty(_gateway.Changes);
    }

    [Fact]
    public void A_self_exclusion_made_shows_even_when_the_limits_cannot_be_read_again()
    {
        var none = new LimitValue(null, null, null);
        _gateway.Answer(LimitsPath, new Limits(none, none, none, none, null));
        var page = _bunit.Render<ResponsibleGambling>();
        page.WaitForElement("#limit-session");
        _gateway.Answer("/api/users/me/self-exclusion", new SelfExclusionStatus("indefinite", DateTimeOffset.UtcNow, null, true));
        _gateway.Refuse(LimitsPath, 503, "dependency-unavailable");

        page.FindAll("form")[1].Submit();
        page.WaitForElement("[role=alertdialog] button.danger").Click();

        page.WaitForAssertion(() => Assert.NotNull(page.Find("[data-testid=self-excluded]")));
    }

    [Fact]
    public void The_exclusion_sent_is_the_period_its_confirmation_names_and_the_period_cannot_change_while_it_is_open()
    {
        var none = new LimitValue(null, null, null);
        _gateway.Answer(LimitsPath, new Limits(none, none, none, none, null));
        var page = _bunit.Render<ResponsibleGambling>();
        page.WaitForElement("#limit-session");
        _gateway.Answer(ExclusionPath, new SelfExclusionStatus("6-months", DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddMonths(6), true));

        page.Find("#period-6-months").Change("6-months");
        page.FindAll("form")[1].Submit();
        var confirmation = page.WaitForElement("[role=alertdialog]").TextContent;
        var lockedWhileOpen = page.Find("#period-indefinite").HasAttribute("disabled");
        page.Find("#period-indefinite").Change("indefinite"); // a browser sends none from a disabled choice; bUnit does
        page.Find("[role=alertdialog] button.danger").Click();

        page.WaitForAssertion(() => Assert.NotNull(_gateway.LastBody(ExclusionPath)));
        Assert.Equal("6-months", _gateway.LastBody(ExclusionPath)!.Value.GetProperty("period").GetString());
        Assert.Contains("6 months", confirmation);
        Assert.True(lockedWhileOpen, "The period could still be changed while its confirmation was open.");
    }

    [Fact]
    public async Task A_double_click_on_save_limits_sends_them_once()
    {
        var none = new LimitValue(null, null, null);
        _gateway.Answer(LimitsPath, new Limits(none, none, none, none, null));
        var page = _bunit.Render<ResponsibleGambling>();
        page.WaitForElement("#limit-session");
        var release = _gateway.Hold(LimitsPath);

        // The second click arrives while the first one's PUT is held at the gateway.
        var first = page.Find("#limit-session").Closest("form")!.SubmitAsync();
        Assert.True(await FirstChangeSentAsync(), "The first click sent nothing.");
        var second = page.Find("#limit-session").Closest("form")!.SubmitAsync();
        release();
        await Task.WhenAll(first, second);

        page.WaitForAssertion(() => Assert.Contains("saved", page.Markup));
        Assert.Equal([$"PUT {LimitsPath}"], _gateway.Changes);
    }

    [Fact]
    public async Task A_double_click_on_start_check_starts_one_identity_check()
    {
        _gateway.Answer("/api/users/me/kyc", new KycStatus(1, "passport", true, false, null));
        var page = _bunit.Render<Verify>();
        page.WaitForElement("#first-name");
        _gateway.Answer("/api/users/me/kyc/checks", new KycCheck(Guid.NewGuid(), "sandbox", "pending", null, DateTimeOffset.UtcNow, null, null));
        var release = _gateway.Hold("/api/users/me/kyc/checks");
        page.Find("#first-name").Change("Ana");
        page.Find("#last-name").Change("Silva");

        var first = page.Find("#first-name").Closest("form")!.SubmitAsync();
        Assert.True(await FirstChangeSentAsync(), "The first click sent nothing.");
        var second = page.Find("#first-name").Closest("form")!.SubmitAsync();
        release();
        await Task.WhenAll(first, second);

        page.WaitForAssertion(() => Assert.Equal(["POST /api/users/me/kyc/checks"], _gateway.Changes));
    }

    [Fact]
    public void A_check_rejected_in_review_tells_the_player_why_above_the_form_to_start_a_new_one()
    {
        var rejected = new KycCheck(Guid.NewGuid(), "sandbox", "rejected", "consider", DateTimeOffset.UtcNow, DateTimeOffset.UtcNow, "Selfie does not match the document");
        _gateway.Answer("/api/users/me/kyc", new KycStatus(1, "passport", true, false, rejected));

        var page = _bunit.Render<Verify>();

        page.WaitForElement("#first-name");
        Assert.Equal("Your last check was rejected: Selfie does not match the document. You can start a new check.",
            page.Find("[data-testid=check-rejected]").TextContent.Trim());
    }

    /// <summary>Waits without blocking the test's thread, which the page's handler continues on (a bUnit wait would
    /// hold it and see nothing until its timeout).</summary>
    private Task<bool> FirstChangeSentAsync() => Eventually.HoldsAsync(() => Task.FromResult(_gateway.Changes.Count == 1), TimeSpan.FromSeconds(15));

    /// <summary>One "invalid amount" message serves three deposit limits: the input it is about is the one marked.</summary>
    [Fact]
    public void An_unreadable_weekly_limit_marks_the_weekly_limit_input_only()
    {
        var none = new LimitValue(null, null, null);
        _gateway.Answer(LimitsPath, new Limits(none, none, none, none, null));
        var page = _bunit.Render<ResponsibleGambling>();
        page.WaitForElement("#limit-7d");

        page.Find("#limit-24h").Change("50");
        page.Find("#limit-7d").Change("abc");
        page.Find("#limit-7d").Closest("form")!.Submit();

        page.WaitForAssertion(() => Assert.Equal("invalid-amount", page.Find("[data-testid=problem]").GetAttribute("data-code")));
        Assert.Equal("true", page.Find("#limit-7d").GetAttribute("aria-invalid"));
        Assert.Null(page.Find("#limit-24h").GetAttribute("aria-invalid"));
        Assert.Null(page.Find("#limit-30d").GetAttribute("aria-invalid"));
        Assert.Empty(_gateway.Changes);

        page.Find("#limit-7d").Change("200");
        page.Find("#limit-7d").Closest("form")!.Submit();

        page.WaitForAssertion(() => Assert.Null(page.Find("#limit-7d").GetAttribute("aria-invalid")));
    }
}
