using System.Text.RegularExpressions;
using Microsoft.Playwright;
using StreamBets.AppHost.Testing;
using static Microsoft.Playwright.Assertions;

namespace StreamBets.Web.EndToEndTests;

/// <summary>
/// The test of the product: a person opens the web app, bets on a live pool, watches the odds move while
/// others bet, and sees the payout arrive the moment the streamer resolves. Each test has its own users and channel.
/// </summary>
[Collection(WebAppCollection.Name)]
public sealed class PlayerJourneyTests(LocalModeAppFixture app, BrowserFixture browser) : BrowserTest(app, browser)
{
    /// <summary>Live pushes travel outbox → bus → hub → circuit → browser on a loaded two-core box.</summary>
    private static readonly LocatorAssertionsToHaveAttributeOptions LiveWait = new() { Timeout = 60_000 };

    [Fact]
    public async Task A_streamer_opens_a_pool_a_player_bets_and_sees_the_odds_move_when_someone_else_bets()
    {
        var channel = NewChannel();
        TestUser streamerUser = null!, player = null!, third = null!;
        await Step("setup", async () =>
        {
            (streamerUser, player, third) = (await Api.NewStreamerAsync("streamer", channel), await Api.NewPlayerAsync("ana"), await Api.NewPlayerAsync("bia"));
            await Api.DepositAsync(player, 100_00);
            await Api.DepositAsync(third, 100_00);
        });
        var streamer = await SignedInPageAsync(streamerUser);
        var page = await SignedInPageAsync(player, phone: true);

        await Step("streamer-opens-pool", async () =>
        {
            await streamer.GotoAsync($"/streamer?channel=twitch:{channel}");
            await streamer.Locator("#pool-title").FillAsync("Will I win this round?");
            await streamer.Locator("[data-testid=outcome-input]").Nth(0).FillAsync("Yes");
            await streamer.Locator("[data-testid=outcome-input]").Nth(1).FillAsync("No");
            await streamer.Locator("#window").SelectOptionAsync("600");
            await streamer.GetByRole(AriaRole.Button, new() { Name = "Open pool" }).ClickAsync();
            await Expect(streamer.Locator("[data-testid=streamer-pool]")).ToContainTextAsync("Will I win this round?");
            await BrowserFixture.ScreenshotAsync(streamer, "1-streamer-pool-open");
        });
        var pool = await Api.LivePoolAsync(player, $"twitch:{channel}");

        await Step("player-bets", async () =>
        {
            await page.GotoAsync($"/channels/twitch/{channel}");
            await page.GetByRole(AriaRole.Link, new() { Name = "Will I win this round?" }).ClickAsync();
            await Expect(page.Locator("[data-testid=pool-state]")).ToHaveAttributeAsync("data-state", "open");
            // On a phone the bet form is below the odds: tapping an outcome's odds row picks it and brings the bet
            // button into view, focused, so no on-screen keyboard covers the stake and quick stakes above it.
            await page.Locator("[data-testid=odds-row][data-outcome=Yes]").ClickAsync();
            await Expect(page.GetByLabel("Yes", new() { Exact = true })).ToBeCheckedAsync();
            await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Bet on Yes" })).ToHaveAttributeAsync("aria-pressed", "true");
            await Expect(page.Locator("[data-testid=place-bet]")).ToBeFocusedAsync();
            await Expect(page.Locator("[data-testid=place-bet]")).ToBeInViewportAsync();
            await page.Locator("#stake").FillAsync("10");
            // Alone on the pool so far: the estimate is the stake back.
            await Expect(page.Locator("[data-testid=payout-estimate]")).ToContainTextAsync("Potential payout: R$10.00 if Yes wins");
            await BrowserFixture.ScreenshotAsync(page, "2-player-pool-before-bet");
            await page.Locator("[data-testid=place-bet]").ClickAsync();
            await Expect(page.Locator("[data-testid=bet-placed]")).ToContainTextAsync("Bet accepted: R$10.00 on Yes");
            await Expect(page.Locator("[data-testid=balance]")).ToContainTextAsync("R$90.00");
            await Expect(page.Locator("[data-testid=odds-row][data-outcome=Yes]")).ToHaveAttributeAsync("data-staked", "1000", LiveWait);
            // Backed Yes: the player may add to it, so only its row is still a tap target.
            await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Bet on No" })).ToHaveCountAsync(0);
            await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Bet on Yes" })).ToBeVisibleAsync();
        });

        await Step("odds-move", async () =>
        {
            // Someone browsing the channel watches the pool's total too.
            var browsing = await SignedInPageAsync(third);
            await browsing.GotoAsync($"/channels/twitch/{channel}");
            var card = browsing.Locator("[data-testid=pool-card]");
            await Expect(card).ToContainTextAsync("R$10.00");

            await Api.PlaceBetAsync(third, pool, "No", 30_00);

            // No reload: the odds bar follows the other player's bet.
            await Expect(page.Locator("[data-testid=odds-row][data-outcome=No]")).ToHaveAttributeAsync("data-staked", "3000", LiveWait);
            await Expect(page.Locator("[data-testid=odds-bar]")).ToHaveAttributeAsync("data-total", "4000");
            await BrowserFixture.ScreenshotAsync(page, "3-player-odds-moved");
            // Pushed by the Realtime hub, not by the page's fallback polling.
            await Expect(page.Locator("[data-testid=live-status]")).ToHaveAttributeAsync("data-status", "live", LiveWait);

            // The streamer's page follows the pool's odds too (it reads nothing while the hub is live).
            var streamerOdds = streamer.Locator("[data-testid=streamer-pool] [data-testid=odds-bar]");
            await Expect(streamerOdds).ToHaveAttributeAsync("data-total", "4000", LiveWait);
            await Expect(streamerOdds.Locator("[data-testid=odds-row][data-outcome=No]")).ToHaveAttributeAsync("data-staked", "3000");
            await Expect(streamer.Locator("[data-testid=live-status]")).ToHaveAttributeAsync("data-status", "live");
            await Expect(card).ToContainTextAsync("R$40.00", new() { Timeout = 60_000 });
        });
    }

    [Fact]
    public async Task A_streamer_opens_a_ready_made_pool_from_a_template_in_one_click()
    {
        var channel = NewChannel();
        var templateId = $"e2e-{Guid.NewGuid():N}"[..16];
        await Api.PutTemplateAsync(templateId, "Next map: who wins?", ["Team A", "Team B", "Draw"], 300);
        var streamerUser = await Api.NewStreamerAsync("streamer", channel);
        var streamer = await SignedInPageAsync(streamerUser);

        await Step("open-from-template", async () =>
        {
            // No channel named: the page starts on the streamer's linked channel.
            await streamer.GotoAsync("/streamer");
            await Expect(streamer.Locator("[data-testid=my-channels]")).ToContainTextAsync($"twitch:{channel}");
            await Expect(streamer.Locator("[data-testid=streamer-channel]")).ToHaveValueAsync(channel);
            var template = streamer.Locator($"[data-testid=open-template][data-template={templateId}]");
            await Expect(template).ToContainTextAsync("Next map: who wins?");
            await Expect(template).ToContainTextAsync("3 outcomes");
            await template.ClickAsync();
            await Expect(streamer.Locator("[data-testid=streamer-pool]")).ToContainTextAsync("Next map: who wins?");
            await BrowserFixture.ScreenshotAsync(streamer, "8-streamer-pool-from-template");
        });

        var pool = await Api.LivePoolAsync(streamerUser, $"twitch:{channel}");
        Assert.Equal(["Team A", "Team B", "Draw"], pool.Outcomes.Select(o => o.Label));

        var someoneElses = NewChannel();
        await Step("refused-on-another-channel", async () =>
        {
            await streamer.GotoAsync($"/streamer?channel=twitch:{someoneElses}");
            await streamer.Locator($"[data-testid=open-template][data-template={templateId}]").ClickAsync();
            var problem = streamer.Locator("[data-testid=problem][data-code=channel-not-yours]");
            await Expect(problem).ToContainTextAsync("not linked to your account");
        });
        Assert.Empty(await Api.LivePoolsAsync(streamerUser, $"twitch:{someoneElses}"));
    }

    [Fact]
    public async Task When_the_streamer_resolves_the_player_sees_the_settlement_toast_and_the_new_balance_without_reloading()
    {
        var channel = NewChannel();
        var (streamerUser, player, third) = (await Api.NewStreamerAsync("streamer", channel), await Api.NewPlayerAsync("caio"), await Api.NewPlayerAsync("duda"));
        await Api.DepositAsync(player, 100_00);
        await Api.DepositAsync(third, 100_00);
        var pool = await Api.CreatePoolAsync(streamerUser, channel, "First blood?", ["Yes", "No"]);
        var streamer = await SignedInPageAsync(streamerUser);
        var page = await SignedInPageAsync(player);

        await Step("bets-placed", async () =>
        {
            await page.GotoAsync($"/pools/{pool.Id}");
            await page.GetByLabel("Yes", new() { Exact = true }).CheckAsync();
            await page.Locator("#stake").FillAsync("10");
            await page.Locator("[data-testid=place-bet]").ClickAsync();
            await Expect(page.Locator("[data-testid=bet-placed]")).ToBeVisibleAsync();
            await Api.PlaceBetAsync(third, pool, "No", 30_00);
            await Expect(page.Locator("[data-testid=odds-bar]")).ToHaveAttributeAsync("data-total", "4000", LiveWait);
        });

        await Step("streamer-resolves", async () =>
        {
            await streamer.GotoAsync($"/streamer?channel=twitch:{channel}");
            await streamer.Locator("[data-testid=lock-pool]").ClickAsync();
            await streamer.GetByLabel("Yes", new() { Exact = true }).CheckAsync();
            await streamer.Locator("[data-testid=resolve-pool]").ClickAsync();
            await Expect(streamer.Locator("[data-testid=resolve-confirm]")).ToContainTextAsync("Yes");
            await streamer.Locator("[data-testid=resolve-yes]").ClickAsync();
            await BrowserFixture.ScreenshotAsync(streamer, "4-streamer-resolved");
        });

        await Step("settled", async () =>
        {
            // 40.00 staked, 5 % rake: the net 38.00 goes to the only winning stake. 100 − 10 + 38 = 128.
            await Expect(page.Locator("[data-testid=toast]")).ToContainTextAsync("You won R$38.00", new() { Timeout = 90_000 });
            await Expect(page.Locator("[data-testid=balance]")).ToContainTextAsync("R$128.00");
            await Expect(page.Locator("[data-testid=pool-state]")).ToHaveAttributeAsync("data-state", "resolved", LiveWait);
            await Expect(page.Locator("[data-testid=my-bet]")).ToHaveAttributeAsync("data-result", "won", LiveWait);
            // The page, left open since the bet, says the pool is paid out without a reload.
            await Expect(page.Locator("[data-testid=pool-state] [data-testid=settlement]")).ToHaveAttributeAsync("data-settled", "true", LiveWait);
            await Expect(page.Locator("[data-testid=pool-state]")).ToContainTextAsync("Winner: Yes · Paid out");
            await Expect(page.Locator("[data-testid=bet-placed]")).ToHaveCountAsync(0);
            await BrowserFixture.ScreenshotAsync(page, "5-player-settlement-toast");

            // The streamer's page, left open, moves the pool to its results and sees it paid out.
            var result = streamer.Locator("[data-testid=recent-results] [data-testid=finished-pool]");
            await Expect(result).ToHaveAttributeAsync("data-state", "resolved", LiveWait);
            await Expect(result.Locator("[data-testid=settlement]")).ToContainTextAsync("Paid out", new() { Timeout = 60_000 });
            await Expect(streamer.Locator("[data-testid=channel-leaderboard]")).ToHaveAttributeAsync("href", $"/leaderboards?channel=twitch%3A{channel}");
            await Expect(streamer.Locator("[data-testid=streamer-pool]")).ToHaveCountAsync(0);
        });

        await Step("result-on-the-pool-page-later", async () =>
        {
            // Coming back to the pool later, each player still sees what became of their bet.
            await page.ReloadAsync();
            var mine = page.Locator("[data-testid=my-bet]");
            await Expect(mine).ToHaveAttributeAsync("data-result", "won");
            await Expect(mine).ToContainTextAsync("Your bet: R$10.00 on Yes · won R$38.00");
            await Expect(page.Locator("[data-testid=odds-row][data-outcome=Yes] .odds-detail")).ToHaveTextAsync("R$10.00 · 1 bet · 25%");

            var loser = await SignedInPageAsync(third);
            await loser.GotoAsync($"/pools/{pool.Id}");
            await Expect(loser.Locator("[data-testid=my-bet]")).ToHaveAttributeAsync("data-result", "lost");
            await Expect(loser.Locator("[data-testid=my-bet]")).ToContainTextAsync("Your bet: R$30.00 on No · did not win");
        });

        await Step("leaderboard-names-the-winner", async () =>
        {
            // Duda, who lost, opens the channel's board from its page and finds Caio there by his display name: 38.00 paid
            // less 10.00 staked. The board follows the payouts within seconds, so she reads it again until it does.
            var loser = await SignedInPageAsync(third);
            await loser.GotoAsync($"/channels/twitch/{channel}");
            await loser.Locator("[data-testid=channel-leaderboard]").ClickAsync();
            await Expect(loser).ToHaveURLAsync(new Regex("/leaderboards\\?channel=twitch"));
            var rows = loser.Locator("[data-testid=leaderboard] tbody tr");
            var myPlace = loser.Locator("[data-testid=my-place]");
            for (var attempt = 0; attempt < 30; attempt++)
            {
                await Expect(loser.Locator("[data-testid=leaderboard], [data-testid=no-leaders]")).ToBeVisibleAsync();
                // Both players' results, not only Caio's: the page does not read the board again by itself.
                if (await rows.CountAsync() > 0 && await myPlace.CountAsync() > 0 && (await myPlace.InnerTextAsync()).Contains("-R$30.00", StringComparison.Ordinal))
                {
                    break;
                }
                await loser.WaitForTimeoutAsync(1_000);
                await loser.ReloadAsync();
            }
            await Expect(rows).ToHaveCountAsync(1);
            await Expect(rows).ToContainTextAsync("caio");
            await Expect(rows).ToContainTextAsync("+R$28.00");
            await Expect(myPlace).ToHaveTextAsync("You are not on this board: your net winnings over its days are -R$30.00.");
            await BrowserFixture.ScreenshotAsync(loser, "5b-leaderboard");
        });

        await Step("channel-shows-the-result", async () =>
        {
            await page.GotoAsync($"/channels/twitch/{channel}");
            var result = page.Locator("[data-testid=recent-results] [data-testid=finished-pool]");
            await Expect(result).ToHaveAttributeAsync("data-state", "resolved");
            await Expect(result).ToContainTextAsync("First blood?");
            await Expect(result.Locator("[data-testid=winner]")).ToHaveTextAsync("Winner: Yes");
            await Expect(page.Locator("[data-testid=pool-card]")).ToHaveCountAsync(0);
        });

        await Step("wallet-and-my-bets-name-the-pool", async () =>
        {
            // Each money line says which pool it was, and leads back to it.
            await page.GotoAsync("/wallet");
            var history = page.Locator("[data-testid=wallet-history] tbody tr");
            var winnings = history.Filter(new() { HasText = "Winnings" });
            await Expect(winnings).ToContainTextAsync("+R$38.00");
            await Expect(winnings.GetByRole(AriaRole.Link, new() { Name = "First blood?" })).ToHaveAttributeAsync("href", $"/pools/{pool.Id}");
            await Expect(history.Filter(new() { HasText = "Bet placed" }).GetByRole(AriaRole.Link, new() { Name = "First blood?" })).ToBeVisibleAsync();
            await Expect(history.Filter(new() { HasText = "Deposit (sandbox)" }).GetByRole(AriaRole.Link)).ToHaveCountAsync(0);

            await page.GotoAsync("/bets");
            await page.GetByRole(AriaRole.Button, new() { Name = "Settled" }).ClickAsync();
            var row = page.Locator("[data-testid=my-bet-row]");
            await Expect(row).ToContainTextAsync("First blood?");
            await Expect(row).ToContainTextAsync("Won · R$38.00");
        });
    }

    [Fact]
    public async Task A_cancelled_pool_shows_the_player_their_refund_and_no_odds()
    {
        var channel = NewChannel();
        var (streamerUser, player) = (await Api.NewStreamerAsync("streamer", channel), await Api.NewPlayerAsync("fabi"));
        await Api.DepositAsync(player, 50_00);
        var pool = await Api.CreatePoolAsync(streamerUser, channel, "Rain delay?", ["Yes", "No"]);
        await Api.PlaceBetAsync(player, pool, "No", 12_50);
        await Api.CancelAsync(streamerUser, pool);
        await Api.WaitForSettlementAsync(pool.Id, "settled");
        var page = await SignedInPageAsync(player, phone: true);

        await Step("refund-shown", async () =>
        {
            await page.GotoAsync($"/pools/{pool.Id}");
            await Expect(page.Locator("[data-testid=pool-state]")).ToHaveAttributeAsync("data-state", "cancelled");
            await Expect(page.Locator("[data-testid=pool-state] [data-testid=settlement]")).ToContainTextAsync("Refunded");
            await Expect(page.Locator("[data-testid=my-bet]")).ToHaveAttributeAsync("data-result", "refunded", LiveWait);
            await Expect(page.Locator("[data-testid=my-bet]")).ToContainTextAsync("Your bet: R$12.50 on No · refunded: R$12.50 back in your wallet");
            await Expect(page.Locator(".odds-figure")).ToHaveCountAsync(0);
            await Expect(page.Locator("[data-testid=balance]")).ToContainTextAsync("R$50.00");
        });
    }

    [Fact]
    public async Task A_bet_sent_in_the_last_seconds_keeps_its_answer_on_screen_after_the_pool_locks()
    {
        var channel = NewChannel();
        var (streamerUser, player) = (await Api.NewStreamerAsync("streamer", channel), await Api.NewPlayerAsync("gabi"));
        await Api.DepositAsync(player, 50_00);
        var page = await SignedInPageAsync(player);
        var pool = await Api.CreatePoolAsync(streamerUser, channel, "Last second?", ["Yes", "No"], windowSeconds: 30);

        await Step("bet-at-the-buzzer", async () =>
        {
            await page.GotoAsync($"/pools/{pool.Id}");
            await page.GetByLabel("Yes", new() { Exact = true }).CheckAsync();
            await page.Locator("#stake").FillAsync("5");
            // Three seconds before the lock: a click on a loaded two-core box can take over a second to go out.
            await UntilAsync(pool.LocksAt - TimeSpan.FromSeconds(3));
            await page.Locator("[data-testid=place-bet]").ClickAsync();
            // Past the lock and the page's next refresh, the form is gone, but not what became of the bet: accepted, or
            // refused for the lock if it reached the Bet Engine too late. Before, both vanished with the form.
            await UntilAsync(pool.LocksAt + TimeSpan.FromSeconds(4));
            await Expect(page.Locator("[data-testid=pool-state]")).ToHaveAttributeAsync("data-state", "locked", LiveWait);
            await Expect(page.Locator("[data-testid=bet-form]")).ToHaveCountAsync(0);
            await Expect(page.Locator("[data-testid=bet-placed], [data-testid=problem]")).ToBeVisibleAsync();
        });
    }

    private static Task UntilAsync(DateTimeOffset moment) =>
        moment > DateTimeOffset.UtcNow ? Task.Delay(moment - DateTimeOffset.UtcNow) : Task.CompletedTask;

    [Fact]
    public async Task A_bet_above_the_balance_is_refused_with_a_clear_message_in_either_language()
    {
        var channel = NewChannel();
        var streamerUser = await Api.NewStreamerAsync("streamer", channel);
        var player = await Api.NewPlayerAsync("edu");
        await Api.DepositAsync(player, 20_00);
        var pool = await Api.CreatePoolAsync(streamerUser, channel, "Clutch or kick?", ["Clutch", "Kick"]);
        var page = await SignedInPageAsync(player);

        await Step("insufficient-funds", async () =>
        {
            await page.GotoAsync($"/pools/{pool.Id}");
            await page.GetByLabel("Clutch", new() { Exact = true }).CheckAsync();
            await page.Locator("#stake").FillAsync("50");
            await page.Locator("[data-testid=place-bet]").ClickAsync();

            var problem = page.Locator("[data-testid=problem]");
            await Expect(problem).ToHaveAttributeAsync("data-code", "insufficient-funds");
            await Expect(problem).ToContainTextAsync("Not enough money in your wallet");
            await Expect(page.Locator("[data-testid=balance]")).ToContainTextAsync("R$20.00");
            await BrowserFixture.ScreenshotAsync(page, "6-rejection-insufficient-funds");
        });

        await Step("stake-out-of-range", async () =>
        {
            await page.Locator("#stake").FillAsync("0,50");
            await page.Locator("[data-testid=place-bet]").ClickAsync();
            await Expect(page.Locator("[data-testid=problem]")).ToContainTextAsync("between R$1.00 and R$1,000.00");
        });

        await Step("portuguese", async () =>
        {
            await page.GetByRole(AriaRole.Link, new() { Name = "PT" }).ClickAsync();
            await Expect(page.Locator("html")).ToHaveAttributeAsync("lang", "pt-BR");
            await page.GetByLabel("Clutch", new() { Exact = true }).CheckAsync();
            await page.Locator("#stake").FillAsync("50");
            await page.Locator("[data-testid=place-bet]").ClickAsync();
            await Expect(page.Locator("[data-testid=problem]")).ToContainTextAsync("Saldo insuficiente");
            await BrowserFixture.ScreenshotAsync(page, "7-rejection-pt-BR");
        });

        await Step("installable-and-sign-out", async () =>
        {
            var manifest = await page.Context.APIRequest.GetAsync("/manifest.webmanifest");
            Assert.True(manifest.Ok);
            Assert.True(await page.EvaluateAsync<bool>("navigator.serviceWorker.ready.then(r => !!r.active)"));
            await page.GetByRole(AriaRole.Button, new() { Name = "Sair" }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Entrar" }).First).ToBeVisibleAsync();
        });
    }
}
