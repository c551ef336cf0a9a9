using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
using StreamBets.FrontEnd;
using StreamBets.FrontEnd.Gateway;
using StreamBets.Web.Components.Layout;
using StreamBets.Web.Components.Pages;
using StreamBets.Web.Gateway;
using StreamBets.Web.Live;

namespace StreamBets.Web.Tests;

/// <summary>
/// The balance shown stays current with the hub away: a payout the pool page reads for itself reads the balance too, and
/// a wallet read that failed is tried again a few seconds later, then less often, rather than waiting for a push.
/// </summary>
public sealed class OfflineBalanceTests : PlayerPageTest
{
    private const string WalletPath = "/api/users/me/wallet";
    private const string MyBetsPath = "/api/bets/mine";
    private readonly Guid _yes = Guid.NewGuid();
    private readonly Guid _no = Guid.NewGuid();

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Bunit.JSInterop.Mode = JSRuntimeMode.Loose;
        Bunit.AddAuthorization().SetAuthorized("Ana");
        Bunit.Services.AddScoped<WalletState>();
    }

    private WalletState Wallet => Bunit.Services.GetRequiredService<WalletState>();

    [Fact]
    public async Task A_payout_the_pool_page_reads_while_the_hub_is_offline_shows_in_the_balance()
    {
        var pool = ResolvedPool();
        var bet = new Bet(Guid.NewGuid(), pool.Id, _yes, 10_00, "accepted", Clock.GetUtcNow().AddMinutes(-4.5), null, null, null, null);
        Gateway.Answer($"/api/pools/{pool.Id}", pool);
        Gateway.Answer(MyBetsPath, new BetPage([bet], null));
        Gateway.Answer(WalletPath, new WalletBalance(Guid.Empty, 100_00));
        await Wallet.RefreshAsync(); // the layout's first read
        var page = Bunit.Render<PoolPage>(parameters => parameters.Add(p => p.PoolId, pool.Id));
        page.WaitForElement("[data-testid=my-bet]");
        Assert.True(await SoonAsync(() => Reads(MyBetsPath) == 1));
        await Task.Delay(200); // the poll is set just after the first reads

        // Paid while the hub is unreachable: no push tells the page or the balance.
        var paidAt = Clock.GetUtcNow();
        Gateway.Answer($"/api/pools/{pool.Id}", pool.PaidOutAt(paidAt));
        Gateway.Answer(MyBetsPath, new BetPage([bet with { SettledResult = "won", PayoutMinor = 19_00, SettledAt = paidAt }], null));
        Gateway.Answer(WalletPath, new WalletBalance(Guid.Empty, 119_00));
        Clock.Advance(TimeSpan.FromSeconds(3));

        page.WaitForAssertion(() => Assert.Equal("won", page.Find("[data-testid=my-bet]").GetAttribute("data-result")));
        Assert.True(await SoonAsync(() => Wallet.BalanceMinor == 119_00), $"The balance stayed at {Wallet.BalanceMinor}.");
        Assert.NotEqual(LiveStatus.Live, Live.Status);
    }

    [Fact]
    public async Task A_balance_whose_first_read_failed_shows_once_a_read_a_few_seconds_later_answers()
    {
        Bunit.Services.AddSingleton(new Toasts());
        Bunit.Renderer.SetRendererInfo(new RendererInfo("Server", isInteractive: true));
        Gateway.Refuse(WalletPath, 503, ApiProblem.Unavailable);
        var layout = Bunit.Render<MainLayout>();
        layout.WaitForAssertion(() => Assert.Contains("…", layout.Find("[data-testid=balance]").TextContent));
        Assert.True(await SoonAsync(() => Reads(WalletPath) == 1));

        Gateway.Answer(WalletPath, new WalletBalance(Guid.Empty, 42_00));
        await RunClockAsync(TimeSpan.FromSeconds(5));

        layout.WaitForAssertion(() => Assert.Contains(Money.Format(42_00), layout.Find("[data-testid=balance]").TextContent));
    }

    [Fact]
    public async Task A_wallet_that_stays_away_is_read_again_less_and_less_often_and_not_once_the_circuit_ends()
    {
        Gateway.Refuse(WalletPath, 503, ApiProblem.Unavailable);
        var wallet = Wallet;
        await wallet.RefreshAsync();

        await RunClockAsync(TimeSpan.FromMinutes(10), step: TimeSpan.FromSeconds(1));

        // Every 3 s at first, then every 30 s: about 20 reads, not 200.
        Assert.InRange(Reads(WalletPath), 10, 30);
        wallet.Dispose();
        var reads = Reads(WalletPath);
        await RunClockAsync(TimeSpan.FromMinutes(1), step: TimeSpan.FromSeconds(1));
        Assert.Equal(reads, Reads(WalletPath));
    }

    private int Reads(string path) => Gateway.Requests.Count(r => r == path);

    /// <summary>Moves the page's clock on in steps, giving each timer's work a moment to run.</summary>
    private async Task RunClockAsync(TimeSpan span, TimeSpan? step = null)
    {
        var tick = step ?? TimeSpan.FromMilliseconds(250);
        for (var run = TimeSpan.Zero; run < span; run += tick)
        {
            Clock.Advance(tick);
            await Task.Delay(10);
        }
    }

    /// <summary>Yes won; Settlement has not paid it yet.</summary>
    private Pool ResolvedPool()
    {
        var now = Clock.GetUtcNow();
        return new(
            Guid.NewGuid(), new PoolChannel("twitch", "streamer1"), Guid.NewGuid(), "Who wins?", "resolved", false,
            [new PoolOutcome(_yes, "Yes", 10_00, 1, 2m), new PoolOutcome(_no, "No", 10_00, 1, null)], 20_00, 1_00, 1_000_00, 500, 60,
            now.AddMinutes(-5), now.AddMinutes(-5), now.AddMinutes(-4), now.AddMinutes(-4), now.AddMinutes(-1), [_yes], null, null, null, 3);
    }
}
