using System.Globalization;
using System.Resources;
using Bunit;
using Microsoft.Extensions.DependencyInjection;
using StreamBets.FrontEnd;
using StreamBets.FrontEnd.Gateway;
using StreamBets.Testing;
using StreamBets.Web.Components.Pages;
using StreamBets.Web.Gateway;
using StreamBets.Web.Live;

namespace StreamBets.Web.Tests;

/// <summary>
/// The wallet page's sandbox withdrawals: sent once under their key, sent again unchanged when unanswered, and every
/// refusal and history line worded for a withdrawal in the player's language.
/// </summary>
public sealed class WithdrawalAnswerTests : PlayerPageTest
{
    private const string WalletPath = "/api/users/me/wallet";
    private const string HistoryPath = "/api/users/me/wallet/history";
    private const string WithdrawalPath = "/api/users/me/wallet/sandbox-withdrawal";
    private const string Panel = "[data-testid=withdraw-panel]";
    private static readonly ResourceManager Strings = new("StreamBets.Web.Resources.SharedResource", typeof(SharedResource).Assembly);
    protected override TimeProvider PageTime => TimeProvider.System;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Bunit.Services.AddSingleton(new WalletState(Client, Live, PageTime));
        Bunit.Services.AddSingleton(new Toasts());
        Gateway.Answer(WalletPath, new WalletBalance(Guid.Empty, 10_00));
        Gateway.Answer(HistoryPath, new WalletHistoryPage([], null));
    }

    [Fact]
    public async Task A_withdrawal_sends_its_amount_in_centavos_under_an_idempotency_key_and_shows_the_new_balance()
    {
        var page = RenderWallet();
        Gateway.Answer(WithdrawalPath, new SandboxTransfer(Guid.NewGuid(), Guid.Empty, 4_50, 5_50, DateTimeOffset.UtcNow));
        Gateway.Answer(WalletPath, new WalletBalance(Guid.Empty, 5_50));

        await WithdrawAsync(page, "4,50");

        page.WaitForAssertion(() => Assert.Contains(Money.Format(5_50), page.Find("[data-testid=wallet-balance]").TextContent));
        Assert.Equal([$"POST {WithdrawalPath}"], Gateway.Changes);
        Assert.Equal(4_50, Gateway.LastBody(WithdrawalPath)!.Value.GetProperty("amountMinor").GetInt64());
        Assert.False(string.IsNullOrWhiteSpace(Assert.Single(Gateway.IdempotencyKeys(WithdrawalPath))));
        Assert.Empty(page.FindAll($"{Panel} [data-testid=problem]"));
    }

    [Fact]
    public void The_deposit_and_withdrawal_fields_have_names_a_screen_reader_tells_apart()
    {
        var page = RenderWallet();

        string LabelOf(string input) => page.Find($"label[for={input}]").TextContent;
        string GroupOf(string panel) => page.Find($"[data-testid={panel}] [role=group]").GetAttribute("aria-label")!;

        Assert.NotEqual(LabelOf("deposit-amount"), LabelOf("withdraw-amount"));
        Assert.NotEqual(GroupOf("deposit-panel"), GroupOf("withdraw-panel"));
    }

    [Fact]
    public async Task An_unanswered_withdrawal_sent_again_unchanged_keeps_its_key()
    {
        var page = RenderWallet();
        Gateway.Refuse(WithdrawalPath, 503, ApiProblem.Unavailable);
        await WithdrawAsync(page, "4");
        page.WaitForAssertion(() => Assert.Equal(ApiProblem.Unavailable, page.Find($"{Panel} [data-testid=problem]").GetAttribute("data-code")));
        Assert.Contains(Money.Format(4_00), page.Find($"{Panel} [data-testid=problem]").TextContent); // "your withdrawal of R$4.00"

        Gateway.Answer(WithdrawalPath, new SandboxTransfer(Guid.NewGuid(), Guid.Empty, 4_00, 6_00, DateTimeOffset.UtcNow));
        await page.FindAndSubmitAsync("[data-testid=withdraw-form]");

        page.WaitForAssertion(() => Assert.Equal(2, Gateway.IdempotencyKeys(WithdrawalPath).Count));
        var keys = Gateway.IdempotencyKeys(WithdrawalPath);
        Assert.Equal(keys[0], keys[1]);
        page.WaitForAssertion(() => Assert.Empty(page.FindAll($"{Panel} [data-testid=problem]")));
    }

    [Theory]
    [InlineData(422, "insufficient-funds", "en")]
    [InlineData(422, "insufficient-funds", "pt-BR")]
    [InlineData(403, "kyc-tier-too-low", "en")]
    [InlineData(403, "kyc-tier-too-low", "pt-BR")]
    public async Task A_refused_withdrawal_reads_as_a_withdrawal_in_the_players_language(int status, string code, string culture)
    {
        var language = new CultureInfo(culture);
        CultureInfo.CurrentUICulture = language; // flows into this test's awaits only, and the page's handlers it runs
        var page = RenderWallet();
        Gateway.Refuse(WithdrawalPath, status, code);

        await WithdrawAsync(page, "50");

        page.WaitForAssertion(() => Assert.Equal(code, page.Find($"{Panel} [data-testid=problem]").GetAttribute("data-code")));
        var problem = page.Find($"{Panel} [data-testid=problem]");
        Assert.Equal(Strings.GetString($"Problem_{code}-withdraw", language), problem.QuerySelector("p")!.TextContent);
        // Below tier 2 the way on is Verification; adding money never helps a withdrawal.
        var links = problem.QuerySelectorAll("a").Select(a => a.GetAttribute("href")).ToList();
        Assert.Equal(code == "kyc-tier-too-low" ? ["/verify"] : [], links);
    }

    [Fact]
    public async Task A_double_click_on_withdraw_sends_one_withdrawal()
    {
        var page = RenderWallet();
        Gateway.Answer(WithdrawalPath, new SandboxTransfer(Guid.NewGuid(), Guid.Empty, 4_00, 6_00, DateTimeOffset.UtcNow));
        var release = Gateway.Hold(WithdrawalPath);
        await page.InvokeAsync(() => page.Find("[data-testid=withdraw-amount]").InputAsync("4"));

        // The second click arrives while the first one's POST is held at the gateway.
        var first = page.FindAndSubmitAsync("[data-testid=withdraw-form]");
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(Gateway.Changes.Count == 1), TimeSpan.FromSeconds(15)), "The first click sent nothing.");
        var second = page.FindAndSubmitAsync("[data-testid=withdraw-form]");
        release();
        await Task.WhenAll(first, second);

        Assert.Equal([$"POST {WithdrawalPath}"], Gateway.Changes);
    }

    [Theory]
    [InlineData("en")]
    [InlineData("pt-BR")]
    public void A_withdrawals_history_line_names_it_in_the_players_language(string culture)
    {
        var language = new CultureInfo(culture);
        CultureInfo.CurrentUICulture = language;
        Gateway.Answer(HistoryPath, new WalletHistoryPage([new(Guid.NewGuid(), "sandbox-withdrawal", null, -4_00, 6_00, DateTimeOffset.UtcNow, null)], null));

        var page = Bunit.Render<WalletPage>();

        page.WaitForAssertion(() => Assert.Contains(Strings.GetString("Reason_sandbox-withdrawal", language)!, page.Find("[data-testid=wallet-history] tbody tr").TextContent));
        Assert.DoesNotContain("sandbox-withdrawal", page.Find("[data-testid=wallet-history] tbody tr").TextContent);
        Assert.Contains(Money.FormatSigned(-4_00), page.Find("[data-testid=wallet-history] tbody tr").TextContent);
    }

    private IRenderedComponent<WalletPage> RenderWallet()
    {
        var page = Bunit.Render<WalletPage>();
        page.WaitForAssertion(() => Assert.Contains(Money.Format(10_00), page.Find("[data-testid=wallet-balance]").TextContent));
        return page;
    }

    /// <summary>Types the amount and submits in one go on the page's renderer (see DepositAnswerTests.DepositAsync).</summary>
    private static Task WithdrawAsync(IRenderedComponent<WalletPage> page, string amount) => page.InvokeAsync(async () =>
    {
        await page.Find("[data-testid=withdraw-amount]").InputAsync(amount);
        await page.Find("[data-testid=withdraw-form]").SubmitAsync();
    });
}
