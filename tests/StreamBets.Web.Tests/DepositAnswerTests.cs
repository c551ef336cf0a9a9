using System.Text.Json;
using Bunit;
using Microsoft.Extensions.DependencyInjection;
using StreamBets.FrontEnd;
using StreamBets.FrontEnd.Gateway;
using StreamBets.Web.Components.Pages;
using StreamBets.Web.Gateway;
using StreamBets.Web.Live;

namespace StreamBets.Web.Tests;

/// <summary>
/// The wallet page's deposits: the balance a push showed stands, and a deposit whose answer was lost is sent again before
/// any other, after a reload too (under its first key).
/// </summary>
public sealed class DepositAnswerTests : PlayerPageTest
{
    private const string DepositPath = "/api/users/me/wallet/sandbox-deposit";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    protected override TimeProvider PageTime => TimeProvider.System;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Bunit.Services.AddSingleton(new WalletState(Client, Live, PageTime));
        Bunit.Services.AddSingleton(new Toasts());
        Gateway.Answer("/api/users/me/wallet", new WalletBalance(Guid.Empty, 10_00));
        Gateway.Answer("/api/users/me/wallet/history", new WalletHistoryPage([], null));
    }

    [Fact]
    public async Task A_deposit_answered_after_a_newer_balance_push_does_not_set_the_balance_back()
    {
        var page = RenderWallet();
        Gateway.Answer(DepositPath, new SandboxTransfer(Guid.NewGuid(), Guid.Empty, 10_00, 20_00, DateTimeOffset.UtcNow));
        var release = Gateway.Hold(DepositPath);
        var depositing = DepositAsync(page, "10");

        // The deposit's push and a payout's arrive before the deposit's own answer.
        Gateway.Answer("/api/users/me/wallet", new WalletBalance(Guid.Empty, 25_00));
        Push(new WalletChangedMessage(25_00, 5_00, "payout", DateTimeOffset.UtcNow) { Stream = "user", Sequence = 7 });
        release();
        await depositing;

        page.WaitForAssertion(() => Assert.Null(page.Find("[data-testid=deposit]").GetAttribute("disabled")));
        page.WaitForAssertion(() => Assert.Contains(Money.Format(25_00), page.Find("[data-testid=wallet-balance]").TextContent));
        Assert.DoesNotContain(Money.Format(20_00), page.Find("[data-testid=wallet-balance]").TextContent);
    }

    [Fact]
    public async Task After_a_deposit_went_unanswered_a_changed_amount_is_not_sent_and_the_form_holds_the_unanswered_one_again()
    {
        var page = await UnansweredDepositAsync("100");

        // The history shows no deposit, yet the first may still be made: the player tries 50 instead.
        await DepositAsync(page, "50");

        page.WaitForAssertion(() => Assert.Contains(Money.Format(100_00), page.Find("[data-testid=resend-first]").TextContent));
        Assert.Equal(Money.ToInput(100_00), page.Find("[data-testid=deposit-amount]").GetAttribute("value"));
        Assert.Equal([$"POST {DepositPath}"], Gateway.Changes);
    }

    [Fact]
    public async Task The_unanswered_deposit_sent_again_keeps_its_key_and_once_answered_a_different_amount_gets_a_new_one()
    {
        var page = await UnansweredDepositAsync("100");
        await DepositAsync(page, "50");
        page.WaitForElement("[data-testid=resend-first]");

        Gateway.Answer(DepositPath, new SandboxTransfer(Guid.NewGuid(), Guid.Empty, 100_00, 110_00, DateTimeOffset.UtcNow));
        await page.FindAndSubmitAsync("[data-testid=deposit-form]"); // the form as restored: the same deposit
        page.WaitForAssertion(() => Assert.Equal(2, Gateway.IdempotencyKeys(DepositPath).Count));
        page.WaitForAssertion(() => Assert.Null(page.Find("[data-testid=deposit]").GetAttribute("disabled")));
        await DepositAsync(page, "50");

        page.WaitForAssertion(() => Assert.Equal(3, Gateway.IdempotencyKeys(DepositPath).Count));
        var keys = Gateway.IdempotencyKeys(DepositPath);
        Assert.Equal(keys[0], keys[1]);
        Assert.NotEqual(keys[1], keys[2]);
        Assert.Equal(50_00, Gateway.LastBody(DepositPath)!.Value.GetProperty("amountMinor").GetInt64());
    }

    [Fact]
    public async Task A_retry_refused_by_the_gateways_rate_limit_keeps_the_unanswered_deposits_key_for_the_next_one()
    {
        var page = await UnansweredDepositAsync("100");

        // The retry never reached Users, which may still credit the first: it proves nothing either way.
        Gateway.Refuse(DepositPath, 429, "rate-limited");
        await DepositAsync(page, "100");
        page.WaitForAssertion(() => Assert.Equal("rate-limited", page.Find("[data-testid=problem]").GetAttribute("data-code")));
        Gateway.Answer(DepositPath, new SandboxTransfer(Guid.NewGuid(), Guid.Empty, 100_00, 110_00, DateTimeOffset.UtcNow));
        await DepositAsync(page, "100");

        page.WaitForAssertion(() => Assert.Equal(3, Gateway.IdempotencyKeys(DepositPath).Count));
        var keys = Gateway.IdempotencyKeys(DepositPath);
        Assert.All(keys, key => Assert.Equal(keys[0], key));
        page.WaitForAssertion(() => Assert.Empty(Tab.SessionStorage)); // kept until the success, then forgotten
    }

    [Fact]
    public async Task An_unanswered_deposit_is_back_in_the_form_after_a_reload_and_sent_again_under_its_first_key()
    {
        var page = await UnansweredDepositAsync("100");

        // The deposit may have been credited after all; the player reloads and sends the one the form holds.
        await Bunit.DisposeComponentsAsync();
        page = RenderWallet();
        page.WaitForAssertion(() => Assert.Contains(Money.Format(100_00), page.Find("[data-testid=deposit-panel] [data-testid=resend-first]").TextContent));
        Assert.Equal(Money.ToInput(100_00), page.Find("[data-testid=deposit-amount]").GetAttribute("value"));
        Assert.Empty(page.FindAll("[data-testid=withdraw-panel] [data-testid=resend-first]")); // kept per movement
        Gateway.Answer(DepositPath, new SandboxTransfer(Guid.NewGuid(), Guid.Empty, 100_00, 110_00, DateTimeOffset.UtcNow));
        await page.FindAndSubmitAsync("[data-testid=deposit-form]");

        page.WaitForAssertion(() => Assert.Equal(2, Gateway.IdempotencyKeys(DepositPath).Count));
        var keys = Gateway.IdempotencyKeys(DepositPath);
        Assert.Equal(keys[0], keys[1]);
        Assert.Equal(100_00, Gateway.LastBody(DepositPath)!.Value.GetProperty("amountMinor").GetInt64());
        page.WaitForAssertion(() => Assert.Empty(Tab.SessionStorage));
    }

    [Fact]
    public async Task A_different_amount_sent_before_the_kept_deposit_is_read_back_is_held_for_it_with_the_notice()
    {
        var page = await UnansweredDepositAsync("100");

        // After a reload the tab is slow to give the kept deposit back, and the player sends another amount meanwhile.
        var release = Tab.HoldReads();
        await Bunit.DisposeComponentsAsync();
        page = RenderWallet();
        var depositing = DepositAsync(page, "50");
        page.WaitForAssertion(() => Assert.True(page.Find("[data-testid=deposit]").HasAttribute("disabled"))); // the click waits for the read
        release();
        await depositing;

        page.WaitForAssertion(() => Assert.Contains(Money.Format(100_00), page.Find("[data-testid=deposit-panel] [data-testid=resend-first]").TextContent));
        Assert.Equal(Money.ToInput(100_00), page.Find("[data-testid=deposit-amount]").GetAttribute("value"));
        Assert.Equal([$"POST {DepositPath}"], Gateway.Changes);
    }

    [Fact]
    public async Task A_sandbox_deposit_over_its_range_is_refused_by_the_site_before_it_is_sent()
    {
        var page = RenderWallet();
        await DepositAsync(page, "1000,01");

        page.WaitForAssertion(() => Assert.Equal("deposit-out-of-range", page.Find("[data-testid=problem]").GetAttribute("data-code")));
        Assert.Contains(Money.Format(1_000_00), page.Find("[data-testid=problem]").TextContent);
        Assert.Empty(Gateway.Changes);
    }

    private IRenderedComponent<WalletPage> RenderWallet()
    {
        var page = Bunit.Render<WalletPage>();
        page.WaitForAssertion(() => Assert.Contains(Money.Format(10_00), page.Find("[data-testid=wallet-balance]").TextContent));
        return page;
    }

    /// <summary>The player deposits and gets no answer (503): the deposit and its key stay, in the form and in the tab.</summary>
    private async Task<IRenderedComponent<WalletPage>> UnansweredDepositAsync(string amount)
    {
        var page = RenderWallet();
        Gateway.Refuse(DepositPath, 503, ApiProblem.Unavailable);
        await DepositAsync(page, amount);
        page.WaitForAssertion(() => Assert.Equal(ApiProblem.Unavailable, page.Find("[data-testid=problem]").GetAttribute("data-code")));
        return page;
    }

    /// <summary>
    /// Types the amount and submits, in one go on the page's renderer: a balance change (a push, or the refresh after a
    /// deposit) reloads the history and renders the page by itself, and may otherwise come between a Find and its event.
    /// The task ends when the deposit's handler is done.
    /// </summary>
    private static Task DepositAsync(IRenderedComponent<WalletPage> page, string amount) => page.InvokeAsync(async () =>
    {
        await page.Find("[data-testid=deposit-amount]").InputAsync(amount);
        await page.Find("[data-testid=deposit-form]").SubmitAsync();
    });

    private void Push(LiveMessage message) => Live.Receive("WalletChanged", JsonSerializer.SerializeToElement(message, message.GetType(), Json));
}
