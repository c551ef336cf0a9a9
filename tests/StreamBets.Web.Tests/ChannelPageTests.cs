using Bunit;
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

    private Pool OpenPool() => new(
        Guid.NewGuid(), new PoolChannel("twitch", "streamer1"), Guid.NewGuid(), "Who wins?", "open", true,
        [new PoolOutcome(Guid.NewGuid(), "Yes", 0, 0, null), new PoolOutcome(Guid.NewGuid(), "No", 0, 0, null)], 0, 1_00, 1_000_00, 500, 60,
        Clock.GetUtcNow(), Clock.GetUtcNow(), Clock.GetUtcNow().AddHours(1), null, null, [], null, null, null, 1);
}
