using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using StreamBets.Web.Gateway;
using StreamBets.Web.Live;

namespace StreamBets.Web.Tests;

/// <summary>A channel page's live pools: what it watches on the hub, across the page's life.</summary>
public sealed class LivePoolListTests
{
    [Fact]
    public async Task A_page_left_while_its_first_read_was_on_its_way_watches_nothing_that_read_brings()
    {
        // Not connected: watches are only counted, as they are for the next (re)connect.
        await using var live = new LiveUpdates(new GatewayAddress(new ConfigurationBuilder().Build()), session: null!, TimeProvider.System, NullLogger<LiveUpdates>.Instance);
        var list = new LivePoolList(live, TimeProvider.System, work => work(), () => Task.CompletedTask, () => { });
        await list.ShowAsync([APool()]);
        Assert.Single(live.WatchedPools);

        await list.DisposeAsync();
        await list.ShowAsync([APool(), APool()]); // the read that was on its way when the page was left
        await list.WatchChannelAsync("twitch:streamer1");

        Assert.Empty(live.WatchedPools);
    }

    private static Pool APool() => new(
        Guid.NewGuid(), new PoolChannel("twitch", "streamer1"), Guid.NewGuid(), "Who wins?", "open", true, [], 0, 100, 10_000, 500, 60,
        DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddMinutes(1), null, null, [], null, null, null, 1);
}
