using System.Globalization;
using System.Text.Json;
using Bunit;
using Microsoft.Extensions.DependencyInjection;
using StreamBets.FrontEnd;
using StreamBets.Testing;
using StreamBets.Web.Components.Pages;
using StreamBets.Web.Gateway;
using StreamBets.Web.Live;

namespace StreamBets.Web.Tests;

/// <summary>The wallet page's history: it follows balance changes with its newest line, and stops once the page is left.</summary>
public sealed class WalletHistoryTests : PlayerPageTest
{
    private const string WalletPath = "/api/users/me/wallet";
    private const string HistoryPath = "/api/users/me/wallet/history";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private WalletState _wallet = null!;

    protected override TimeProvider PageTime => TimeProvider.System;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _wallet = new WalletState(Client, Live, PageTime);
        Bunit.Services.AddSingleton(_wallet);
        Bunit.Services.AddSingleton(new Toasts());
        Gateway.Answer(WalletPath, new WalletBalance(Guid.Empty, 10_00));
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _wallet.Dispose();
    }

    [Fact]
    public async Task A_wallet_page_left_during_its_first_balance_read_reads_no_history_then_or_on_later_changes()
    {
        var release = Gateway.Hold(WalletPath);
        Bunit.Render<WalletPage>();
        await Bunit.DisposeComponentsAsync();

        release();
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(_wallet.BalanceMinor == 10_00), TimeSpan.FromSeconds(15)));
        Push(new WalletChangedMessage(25_00, 15_00, "payout", DateTimeOffset.UtcNow) { Stream = "user", Sequence = 1 });

        Assert.False(await Eventually.HoldsAsync(() => Task.FromResult(Gateway.Requests.Contains(HistoryPath)), TimeSpan.FromSeconds(1)),
            "A page left before it was shown still reads the history.");
    }

    [Fact]
    public async Task Load_more_clicked_while_a_balance_change_reloads_the_history_keeps_the_newest_line()
    {
        var older = Line(10_00, 10_00);
        Gateway.Answer(HistoryPath, new WalletHistoryPage([older], "page-2"));
        var page = Bunit.Render<WalletPage>();
        page.WaitForAssertion(() => Assert.Equal([Money.FormatSigned(older.AmountMinor)], Amounts(page)));

        // A payout: its push reloads the history, and Load more is clicked while that read is on its way.
        var newest = Line(15_00, 25_00);
        Gateway.Answer(HistoryPath, new WalletHistoryPage([newest, older], "page-2"));
        var releaseReload = Gateway.HoldNext(HistoryPath);
        Push(new WalletChangedMessage(25_00, 15_00, "payout", DateTimeOffset.UtcNow) { Stream = "user", Sequence = 1 });
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(Gateway.Requests.Count(r => r == HistoryPath) == 2), TimeSpan.FromSeconds(15)));
        await page.FindAndClickAsync("[data-testid=load-more]");
        releaseReload();

        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(Amounts(page).SequenceEqual([Money.FormatSigned(newest.AmountMinor), Money.FormatSigned(older.AmountMinor)])), TimeSpan.FromSeconds(15)),
            "History shows: " + string.Join(", ", Amounts(page)));
    }

    [Fact]
    public void A_history_line_shows_its_time_on_the_players_clock_not_the_servers()
    {
        Bunit.BrowserTimeZone("America/Sao_Paulo");
        // 15:30 in São Paulo, which has kept UTC-3 all year since 2019.
        var at = new DateTimeOffset(2026, 3, 15, 18, 30, 0, TimeSpan.Zero);
        Gateway.Answer(HistoryPath, new WalletHistoryPage([Line(10_00, 10_00) with { CreatedAt = at }], null));

        var page = Bunit.Render<WalletPage>();

        var saoPaulo = new DateTime(2026, 3, 15, 15, 30, 0).ToString("g", CultureInfo.CurrentCulture);
        page.WaitForAssertion(() => Assert.Contains(saoPaulo, page.Find("[data-testid=wallet-history] tbody tr").TextContent));
    }

    [Fact]
    public async Task A_failed_load_more_keeps_the_lines_shown_and_tries_again_from_where_it_stopped()
    {
        var first = Line(10_00, 10_00);
        Gateway.Answer(HistoryPath, new WalletHistoryPage([first], "page-2"));
        var page = Bunit.Render<WalletPage>();
        page.WaitForAssertion(() => Assert.Equal([Money.FormatSigned(first.AmountMinor)], Amounts(page)));

        Gateway.Refuse(HistoryPath, 429, "rate-limited");
        await page.FindAndClickAsync("[data-testid=load-more]");

        page.WaitForAssertion(() => Assert.Equal("rate-limited", page.Find("[data-testid=problem]").GetAttribute("data-code")));
        Assert.Equal([Money.FormatSigned(first.AmountMinor)], Amounts(page));
        var older = Line(-5_00, 0);
        Gateway.Answer(HistoryPath, new WalletHistoryPage([first], "page-2"));
        Gateway.AnswerPage(HistoryPath, "page-2", new WalletHistoryPage([older], null));
        await page.FindAndClickAsync("[data-testid=load-more]");

        page.WaitForAssertion(() => Assert.Equal([Money.FormatSigned(first.AmountMinor), Money.FormatSigned(older.AmountMinor)], Amounts(page)));
        Assert.Empty(page.FindAll("[data-testid=problem]"));
        Assert.Empty(page.FindAll("[data-testid=load-more]"));
    }

    [Fact]
    public async Task A_failed_first_history_read_says_why_and_offers_to_try_again()
    {
        Gateway.Refuse(HistoryPath, 503, "dependency-unavailable");
        var page = Bunit.Render<WalletPage>();
        page.WaitForAssertion(() => Assert.Equal("dependency-unavailable", page.Find("[data-testid=problem]").GetAttribute("data-code")));

        var line = Line(10_00, 10_00);
        Gateway.Answer(HistoryPath, new WalletHistoryPage([line], null));
        await page.FindAndClickAsync("[data-testid=load-more]");

        page.WaitForAssertion(() => Assert.Equal([Money.FormatSigned(line.AmountMinor)], Amounts(page)));
        Assert.Empty(page.FindAll("[data-testid=problem]"));
    }

    [Fact]
    public async Task The_history_says_it_is_empty_only_once_it_has_answered()
    {
        Gateway.Answer(HistoryPath, new WalletHistoryPage([], null));
        var releaseBalance = Gateway.Hold(WalletPath);
        var releaseHistory = Gateway.Hold(HistoryPath);
        var page = Bunit.Render<WalletPage>();

        // Still reading the balance, then the history: a player who has history must not read that there is none.
        Assert.True(await SoonAsync(() => Gateway.Requests.Contains(WalletPath)));
        Assert.Empty(page.FindAll(".empty"));
        releaseBalance();
        Assert.True(await SoonAsync(() => Gateway.Requests.Contains(HistoryPath)));
        Assert.Empty(page.FindAll(".empty"));
        releaseHistory();

        page.WaitForAssertion(() => Assert.Single(page.FindAll(".empty")));
    }

    /// <summary>
    /// Before, each pushed balance read the history and its pool titles again: a payout of 30 bets made 60 gateway calls
    /// within a second, over the 50 a second the gateway allows a player.
    /// </summary>
    [Fact]
    public async Task A_burst_of_balance_pushes_reads_the_history_once_not_once_a_push()
    {
        Gateway.Answer(HistoryPath, new WalletHistoryPage([Line(10_00, 10_00)], null));
        var page = Bunit.Render<WalletPage>();
        page.WaitForAssertion(() => Assert.Single(Amounts(page)));
        Assert.Equal(1, Gateway.Requests.Count(r => r == HistoryPath));

        var lines = Enumerable.Range(1, 30).Select(i => Line(1_00, 10_00 + i * 1_00)).Reverse().ToList();
        Gateway.Answer(HistoryPath, new WalletHistoryPage([.. lines, Line(10_00, 10_00)], null));
        for (var i = 1; i <= 30; i++)
        {
            Push(new WalletChangedMessage(10_00 + i * 1_00, 1_00, "payout", DateTimeOffset.UtcNow) { Stream = "user", Sequence = i });
            await Task.Delay(3);
        }

        page.WaitForAssertion(() => Assert.Equal(31, Amounts(page).Length));
        await Task.Delay(PushBurst<long?>.Window * 2); // a read the last pushes asked for, if one were owed, on its way
        Assert.InRange(Gateway.Requests.Count(r => r == HistoryPath) - 1, 1, 2);
    }

    private static string[] Amounts(IRenderedComponent<WalletPage> page) =>
        [.. page.FindAll("[data-testid=wallet-history] tbody tr").Select(row => row.QuerySelector("td.num")!.TextContent)];

    private static WalletHistoryItem Line(long amount, long balanceAfter) =>
        new(Guid.NewGuid(), "payout", null, amount, balanceAfter, DateTimeOffset.UtcNow, null);

    private void Push(LiveMessage message) => Live.Receive("WalletChanged", JsonSerializer.SerializeToElement(message, message.GetType(), Json));
}
