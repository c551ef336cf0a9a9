using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using StreamBets.FrontEnd.Gateway;
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
        await using var live = new LiveUpdates(new LiveHubAddress(new ConfigurationBuilder().Build()), session: null!, TimeProvider.System, NullLogger<LiveUpdates>.Instance);
        var list = new LivePoolList(live, TimeProvider.System, work => work(), () => Task.CompletedTask, () => { });
        await list.ShowAsync([APool()]);
        Assert.Single(live.WatchedPools);

        await list.DisposeAsync();
        await list.ShowAsync([APool(), APool()]); // the read that was on its way when the page was left
        await list.WatchChannelAsync("twitch:streamer1");

        Assert.Empty(live.WatchedPools);
    }

    [Fact]
    public async Task An_odds_push_older_than_the_pools_read_does_not_roll_its_stakes_back()
    {
        await using var live = new LiveUpdates(new LiveHubAddress(new ConfigurationBuilder().Build()), session: null!, TimeProvider.System, NullLogger<LiveUpdates>.Instance);
        var list = new LivePoolList(live, TimeProvider.System, work => work(), () => Task.CompletedTask, () => { });
        var outcome = new PoolOutcome(Guid.NewGuid(), "Yes", 0, 0, null);
        var pool = APool() with { Outcomes = [outcome] };
        await list.ShowAsync([pool]);
        void PushOdds(long total, long sequence) => live.Receive("OddsChanged", JsonSerializer.SerializeToElement(
            new OddsChangedMessage(pool.Id, total, [new OutcomeStakesMessage(outcome.Id, total, (int)total / 100)], DateTimeOffset.UnixEpoch)
            {
                Stream = $"pool:{pool.Id}", Sequence = sequence,
            }, Json));

        PushOdds(100, 1);
        Assert.Equal(100, Assert.Single(list.Pools!).TotalStakedMinor);
        // A read made after the player's own bet counts it; the odds push of an earlier total comes after that read.
        await list.ShowAsync([pool with { TotalStakedMinor = 300, Outcomes = [outcome with { StakedMinor = 300, BetCount = 3 }] }]);
        PushOdds(200, 2);
        var shown = Assert.Single(list.Pools!);
        Assert.Equal(300, shown.TotalStakedMinor);
        Assert.Equal(300, Assert.Single(shown.Outcomes).StakedMinor);
        PushOdds(400, 3);
        Assert.Equal(400, Assert.Single(list.Pools!).TotalStakedMinor);
    }

    /// <summary>Before, each copy read the page's lists again: 4 Pools reads a viewer at every lock and resolve, not 2.</summary>
    [Fact]
    public async Task A_state_change_pushed_on_the_pool_and_channel_streams_reads_the_lists_again_once()
    {
        await using var live = new LiveUpdates(new LiveHubAddress(new ConfigurationBuilder().Build()), session: null!, TimeProvider.System, NullLogger<LiveUpdates>.Instance);
        var reloads = 0;
        var list = new LivePoolList(live, TimeProvider.System, work => work(), () => { reloads++; return Task.CompletedTask; }, () => { });
        var pool = APool();
        await list.ShowAsync([pool]);
        void PushState(string state, string stream, long sequence) => live.Receive("PoolStateChanged", JsonSerializer.SerializeToElement(
            new PoolStateChangedMessage(pool.Id, state, null, DateTimeOffset.UnixEpoch) { Stream = stream, Sequence = sequence }, Json));

        PushState("locked", $"pool:{pool.Id}", 1);
        PushState("locked", "channel:twitch:streamer1", 1);
        Assert.Equal(1, reloads);

        PushState("resolved", "channel:twitch:streamer1", 2);
        PushState("resolved", $"pool:{pool.Id}", 2);
        Assert.Equal(2, reloads);
    }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static Pool APool() => new(
        Guid.NewGuid(), new PoolChannel("twitch", "streamer1"), Guid.NewGuid(), "Who wins?", "open", true, [], 0, 100, 10_000, 500, 60,
        DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddMinutes(1), null, null, [], null, null, null, 1);
}
