using System.Security.Claims;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using StreamBets.FrontEnd.Auth;
using StreamBets.FrontEnd.Gateway;
using StreamBets.Web.Live;

namespace StreamBets.Web.Tests;

/// <summary>
/// After a Realtime restart every circuit of a web replica loses its connection at once: their reconnects (and the
/// token refreshes they bring) are spread at random over each attempt's range, not sent in lockstep.
/// </summary>
public sealed class ReconnectWaitTests
{
    private const int Circuits = 500;

    [Theory]
    [InlineData(0, 0.0, 2.0)] // the first reconnect: anywhere in the first two seconds, not all at once
    [InlineData(1, 1.0, 3.0)]
    [InlineData(2, 2.5, 7.5)]
    [InlineData(3, 5.0, 15.0)]
    [InlineData(20, 5.0, 15.0)] // and so on for ever
    public async Task Reconnect_waits_are_spread_at_random_over_each_attempts_range(int previousAttempts, double fromSeconds, double toSeconds)
    {
        await using var live = LiveUpdatesFor(new Random(7));

        var waits = Enumerable.Range(0, Circuits).Select(_ => live.ReconnectWait(previousAttempts).TotalSeconds).ToList();

        Assert.All(waits, wait => Assert.InRange(wait, fromSeconds, toSeconds));
        // Spread: every tenth of the range has some circuits, none more than twice its share.
        var range = toSeconds - fromSeconds;
        var tenths = waits.GroupBy(wait => (int)((wait - fromSeconds) / range * 10)).ToList();
        Assert.Equal(10, tenths.Count);
        Assert.All(tenths, tenth => Assert.InRange(tenth.Count(), 1, Circuits / 5));
    }

    [Fact]
    public async Task The_same_seed_gives_the_same_waits_so_tests_can_repeat_them()
    {
        await using var first = LiveUpdatesFor(new Random(42));
        await using var second = LiveUpdatesFor(new Random(42));

        Assert.Equal(Enumerable.Range(0, 10).Select(first.ReconnectWait), Enumerable.Range(0, 10).Select(second.ReconnectWait));
    }

    private static LiveUpdates LiveUpdatesFor(Random random) =>
        new(new LiveHubAddress(new ConfigurationBuilder().Build()), new UserSession(new Anonymous(), tokens: null!), TimeProvider.System, random, NullLogger<LiveUpdates>.Instance);

    private sealed class Anonymous : AuthenticationStateProvider
    {
        public override Task<AuthenticationState> GetAuthenticationStateAsync() => Task.FromResult(new AuthenticationState(new ClaimsPrincipal()));
    }
}
