using Bunit;
using StreamBets.Admin.Operations;

namespace StreamBets.Admin.Tests;

/// <summary>
/// A channel link outlives the streamer role: a demotion leaves it in Pools. Accounts showed Channels to streamers only,
/// so a demoted account's channels could be neither seen nor unlinked without making them a streamer again.
/// </summary>
public sealed class LinkedChannelsTests : ConsoleTest
{
    [Fact]
    public async Task A_players_linked_channel_is_listed_with_Unlink_and_no_Link_is_offered()
    {
        var player = new Account(Guid.NewGuid(), "bia@example.com", "Bia", "player", 1, "BR", DateTimeOffset.UtcNow);
        Gateway.Answer($"/api/pools/admin/channels?ownerId={player.Id}",
            () => new[] { new ChannelLink(new PoolChannel("kick", "bia"), player.Id, Guid.NewGuid(), DateTimeOffset.UtcNow) });
        Gateway.Answer("DELETE /api/pools/admin/channels/kick/bia", () => true);
        var page = await AccountOnAccountsAsync(player);
        const string row = "[data-testid=channel-link]";

        page.WaitForAssertion(() => Assert.Equal("kick:bia", page.Find(row).GetAttribute("data-channel")));
        Assert.Contains("not a streamer", page.Find("[data-testid=channels]").TextContent);
        Assert.Empty(page.FindAll("[data-testid=link-channel]"));
        await ConfirmAsync(page, row, "Unlink");

        Assert.Contains($"DELETE /api/pools/admin/channels/kick/bia?ownerId={player.Id}", Gateway.Requests);
        Assert.Contains("kick:bia is unlinked", page.Find("[data-testid=message]").TextContent);
        Assert.Empty(page.FindAll(row));
    }
}
