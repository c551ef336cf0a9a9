using System.Globalization;
using Bunit;
using Microsoft.AspNetCore.Components;
using StreamBets.Web.Components.Pages;
using StreamBets.Web.Gateway;
using StreamBets.Web.Live;

namespace StreamBets.Web.Tests;

/// <summary>A channel's page with the hub live: no push may come to read its pools again, so a failed read is retried.</summary>
public sealed class ChannelPageTests : ConnectedPageTest
{
    private const string LivePath = "/api/pools/live";

    [Fact]
    public async Task A_channel_page_whose_first_read_failed_reads_its_pools_again_until_they_show()
    {
        Gateway.Refuse(LivePath, 503, "dependency-unavailable");
        Gateway.Answer("/api/pools/finished", Array.Empty<Pool>());
        var page = Bunit.Render<ChannelPage>(parameters => parameters.Add(p => p.Provider, "twitch").Add(p => p.ChannelId, "streamer1"));
        page.WaitForAssertion(() => Assert.Equal("dependency-unavailable", page.Find("[data-testid=problem]").GetAttribute("data-code")));
        Assert.Equal(LiveStatus.Live, Live.Status);

        var pool = OpenPool();
        Gateway.Answer(LivePath, new[] { pool });
        // The page's poll, every 5 s: the clock moves on until a read comes of it.
        Assert.True(await SoonAsync(() =>
        {
            Clock.Advance(TimeSpan.FromSeconds(5));
            return Gateway.Requests.Count(r => r == LivePath) >= 2;
        }));

        page.WaitForAssertion(() => Assert.Contains(pool.Title, page.Find("[data-testid=pool-card]").TextContent));
    }

    /// <summary>
    /// Before, such an address was read from Pools, whose refusal showed as "Please check the highlighted fields." and an
    /// English line, and the page joined the channel's chat (and its pushes) under a name no channel has.
    /// </summary>
    [Theory]
    [InlineData("twitch", "stream er1")]
    [InlineData("facebook", "streamer1")]
    [InlineData("youtube", "@streamer1")]
    public async Task A_channel_address_no_channel_can_have_says_so_in_the_players_language_and_joins_nothing(string provider, string channelId)
    {
        CultureInfo.CurrentUICulture = new CultureInfo("pt-BR"); // flows into this test's awaits, and the handlers they run
        Gateway.Refuse(LivePath, 400, "invalid-request", new Dictionary<string, string[]> { ["channel.channelId"] = ["The channel id is 1 to 100 letters, digits, '_', '-' or '.'."] });
        Gateway.Refuse("/api/pools/finished", 400, "invalid-request", new Dictionary<string, string[]> { ["channel.channelId"] = ["The channel id is 1 to 100 letters, digits, '_', '-' or '.'."] });

        var page = Bunit.Render<ChannelPage>(parameters => parameters.Add(p => p.Provider, provider).Add(p => p.ChannelId, channelId));

        page.WaitForAssertion(() => Assert.StartsWith("Esse canal não existe.", page.Find("[data-testid=no-such-channel]").TextContent));
        Assert.Empty(page.FindAll("[data-testid=problem]"));
        Assert.Empty(page.FindAll("aside"));
        Assert.True(await StaysAsync(() => Gateway.Requests.Count == 0 && !Hub.Calls.Any(c => c.StartsWith("WatchChannel", StringComparison.Ordinal) || c.StartsWith("GetChatHistory", StringComparison.Ordinal))),
            string.Join(", ", Gateway.Requests.Concat(Hub.Calls)));
    }

    /// <summary>
    /// A reload asked for (ReloadNeeded, after a reconnection) while the page was busy runs after the player moved on to an address no
    /// channel can have. Before, it read Pools for that address, and showing the answer threw on the list let go.
    /// </summary>
    [Fact]
    public async Task A_reload_queued_before_moving_on_to_an_address_no_channel_can_have_reads_nothing()
    {
        Gateway.Answer(LivePath, new[] { OpenPool() });
        Gateway.Answer("/api/pools/finished", Array.Empty<Pool>());
        var releaseLive = Gateway.Hold(LivePath);
        var page = Bunit.Render<ChannelPage>(parameters => parameters.Add(p => p.Provider, "twitch").Add(p => p.ChannelId, "streamer1"));
        Assert.True(await SoonAsync(() => Gateway.Requests.Count(r => r == LivePath) == 1)); // held
        using var reloadAsked = new ManualResetEventSlim();
        Live.ReloadNeeded += reloadAsked.Set; // after the page's own handler: its reload is queued by then

        await page.InvokeAsync(() =>
        {
            // The page is busy (this work item): the reload asked for once the dropped connection is back waits its turn,
            // behind the move to the next address.
            Hub.DropConnections();
            Assert.True(reloadAsked.Wait(TimeSpan.FromSeconds(15)), "No ReloadNeeded came of the reconnection.");
            return page.Instance.SetParametersAsync(ParameterView.FromDictionary(new Dictionary<string, object?>
            {
                [nameof(ChannelPage.Provider)] = "twitch",
                [nameof(ChannelPage.ChannelId)] = "stream er1",
            }));
        });
        Live.ReloadNeeded -= reloadAsked.Set;
        releaseLive();

        page.WaitForAssertion(() => Assert.Single(page.FindAll("[data-testid=no-such-channel]")));
        Assert.True(await StaysAsync(() => Gateway.Requests.Count(r => r == LivePath) == 1 && Gateway.Requests.Count(r => r == "/api/pools/finished") == 1),
            string.Join(", ", Gateway.Queries(LivePath).Select(q => q["channel"])));
        Assert.Empty(page.FindAll("[data-testid=problem]"));
        Assert.Empty(page.FindAll("[data-testid=pool-card]"));
    }

    /// <summary>
    /// Before, any failed read replaced the page with its problem: one refused reload (the poll while the hub is away, a
    /// reconnect's read answered 503) blanked the live pools, the results and the leaderboard link.
    /// </summary>
    [Fact]
    public async Task A_reload_that_fails_keeps_the_pools_shown()
    {
        Gateway.Answer(LivePath, new[] { OpenPool(), OpenPool() });
        Gateway.Answer("/api/pools/finished", Array.Empty<Pool>());
        var page = Bunit.Render<ChannelPage>(parameters => parameters.Add(p => p.Provider, "twitch").Add(p => p.ChannelId, "streamer1"));
        page.WaitForAssertion(() => Assert.Equal(2, page.FindAll("[data-testid=pool-card]").Count));

        Gateway.Refuse(LivePath, 503, "dependency-unavailable");
        Hub.DropConnections(); // the reconnect has the page read again
        Assert.True(await SoonAsync(() => Gateway.Requests.Count(r => r == LivePath) >= 2), string.Join(", ", Gateway.Requests));

        Assert.True(await StaysAsync(() => page.FindAll("[data-testid=pool-card]").Count == 2 && page.FindAll("[data-testid=problem]").Count == 0), page.Markup);
    }

    private Pool OpenPool() => new(
        Guid.NewGuid(), new PoolChannel("twitch", "streamer1"), Guid.NewGuid(), "Who wins?", "open", true,
        [new PoolOutcome(Guid.NewGuid(), "Yes", 0, 0, null), new PoolOutcome(Guid.NewGuid(), "No", 0, 0, null)], 0, 1_00, 1_000_00, 500, 60,
        Clock.GetUtcNow(), Clock.GetUtcNow(), Clock.GetUtcNow().AddHours(1), null, null, [], null, null, null, 1);
}
