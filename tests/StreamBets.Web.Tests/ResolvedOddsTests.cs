using System.Globalization;
using Bunit;
using Microsoft.Extensions.DependencyInjection;
using StreamBets.Web.Components.Shared;
using StreamBets.Web.Gateway;

namespace StreamBets.Web.Tests;

/// <summary>Once a pool is resolved, its odds bar shows what settlement pays per unit, as the pool's view gives it.</summary>
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
}
