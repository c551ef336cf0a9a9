using System.Globalization;
using Bunit;
using Microsoft.Extensions.DependencyInjection;
using StreamBets.Web.Components.Shared;
using StreamBets.Web.Betting;
using StreamBets.Web.Gateway;
using StreamBets.Web.Live;

namespace StreamBets.Web.Tests;

/// <summary>
/// Once a pool is resolved, its odds bar shows what settlement pays per unit, the moment the result is pushed (the read
/// that would bring Pools' figures often fails as every viewer reads at once). Every figure is floored to the centavo,
/// as payouts are.
/// </summary>
public sealed class ResolvedOddsTests : IAsyncLifetime
{
    private readonly BunitContext _bunit = new();

    public Task InitializeAsync()
    {
        _bunit.Services.AddLocalization(options => options.ResourcesPath = "Resources");
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _bunit.DisposeAsync();

    [Fact]
    public void A_dead_heat_shows_the_winners_shared_return_and_no_odds_on_the_loser()
    {
        // 30 and 20 on the two winners, 50 on the loser, 5 % rake: the winners share 95 over their 50, 1.90 a unit each.
        Guid first = Guid.NewGuid(), second = Guid.NewGuid(), loser = Guid.NewGuid();
        var now = DateTimeOffset.UtcNow;
        var pool = new Pool(
            Guid.NewGuid(), new PoolChannel("twitch", "streamer1"), Guid.NewGuid(), "Who wins?", "resolved", false,
            [new PoolOutcome(first, "Ana", 30_00, 3, 1.9m), new PoolOutcome(second, "Bia", 20_00, 2, 1.9m), new PoolOutcome(loser, "Caio", 50_00, 5, null)],
            100_00, 1_00, 1_000_00, 500, 600, now, now, now, now, now, [first, second], null, "pending", null, 1);

        var bar = _bunit.Render<OddsBar>(parameters => parameters.Add(b => b.Pool, pool));

        string? Figure(string label) => bar.Find($"[data-testid=odds-row][data-outcome={label}]").QuerySelector(".odds-figure")?.TextContent;
        var paid = $"{1.9m.ToString("0.00", CultureInfo.CurrentCulture)}×";
        Assert.Equal([paid, paid, null], new[] { "Ana", "Bia", "Caio" }.Select(Figure));
    }

    [Fact]
    public void A_result_pushed_over_the_open_pool_shows_no_return_on_the_loser_at_once()
    {
        // 20 on Yes, 30 on No, 50 on Draw at 5 %: Yes wins, and the read with Pools' resolved figures has not answered.
        var pool = OpenPoolAsPoolsReadIt(20_00, 30_00, 50_00);

        var bar = Render(Resolve(pool, "Yes"));

        Assert.Equal(new[] { Shown(4.75m), null, null }, Figures(bar));
    }

    [Fact]
    public void A_dead_heat_pushed_over_the_open_pool_shows_the_shared_return_not_each_winners_own()
    {
        // Yes and No win together: they share 95 over their 50, 1.90 each, not the 4.75 and 3.16 each would have paid alone.
        var pool = OpenPoolAsPoolsReadIt(20_00, 30_00, 50_00);

        var bar = Render(Resolve(pool, "Yes", "No"));

        Assert.Equal(new[] { Shown(1.9m), Shown(1.9m), null }, Figures(bar));
    }

    [Fact]
    public void A_winner_nobody_backed_shows_every_stake_returned_once()
    {
        // Nobody is on Draw, which wins: settlement refunds every bet.
        var pool = OpenPoolAsPoolsReadIt(40_00, 60_00, 0);

        var bar = Render(Resolve(pool, "Draw"));

        Assert.Equal(new[] { Shown(1m), Shown(1m), null }, Figures(bar));
    }

    [Fact]
    public void A_return_per_unit_is_floored_to_the_centavo_not_rounded_up()
    {
        // 951 of 2,000 on Yes at 5 %: 1,900 / 951 = 1.9979…, and a 10.00 stake among the 951 is paid 19.97, so it shows
        // 1.99, not 2.00.
        var pool = OpenPoolAsPoolsReadIt(951_00, 1_049_00, 0);

        var bar = Render(pool);

        Assert.Equal(Shown(1.99m), Figures(bar).First());
    }

    private IRenderedComponent<OddsBar> Render(Pool pool) => _bunit.Render<OddsBar>(parameters => parameters.Add(b => b.Pool, pool));

    private static IEnumerable<string?> Figures(IRenderedComponent<OddsBar> bar) =>
        bar.FindAll("[data-testid=odds-row]").Select(row => row.QuerySelector(".odds-figure")?.TextContent);

    private static string Shown(decimal returnPerUnit) => $"{returnPerUnit.ToString("0.00", CultureInfo.CurrentCulture)}×";

    private static Pool Resolve(Pool pool, params string[] winners) =>
        new PoolStateChangedMessage(pool.Id, "resolved", [.. pool.Outcomes.Where(o => winners.Contains(o.Label)).Select(o => o.Id)], DateTimeOffset.UtcNow).Over(pool);

    /// <summary>A pool just locked, with the "if it wins" figures Pools gives while it runs: each outcome alone against the rest.</summary>
    private static Pool OpenPoolAsPoolsReadIt(long yes, long no, long draw)
    {
        var total = yes + no + draw;
        PoolOutcome Outcome(string label, long staked) => new(Guid.NewGuid(), label, staked, staked > 0 ? 1 : 0, PayoutEstimate.ReturnPerUnit(total, staked, 500));
        var now = DateTimeOffset.UtcNow;
        return new Pool(
            Guid.NewGuid(), new PoolChannel("twitch", "streamer1"), Guid.NewGuid(), "Who wins?", "locked", false,
            [Outcome("Yes", yes), Outcome("No", no), Outcome("Draw", draw)],
            total, 1_00, 1_000_00, 500, 600, now, now, now, now, null, [], null, null, null, 1);
    }
}
