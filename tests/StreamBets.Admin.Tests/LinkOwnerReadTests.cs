using System.Net;
using Bunit;
using StreamBets.Admin.Components.Pages;
using StreamBets.Admin.Operations;

namespace StreamBets.Admin.Tests;

/// <summary>
/// Link channel reads whose the channel is before it asks, because a link moves a channel another streamer has, with
/// its open pools: the confirmation names that streamer, or says no one has it. Before, it could only say the owner
/// could not be read, so a typo handed someone else's live real-money pools to the wrong streamer on a routine confirm.
/// A channel already this account's is not linked again: nothing is asked or sent.
/// </summary>
public sealed class LinkOwnerReadTests : ConsoleTest
{
    private const string LinkForm = "[data-testid=link-channel]";
    private const string Read = "GET /api/pools/admin/channels/twitch/foo";
    private const string Link = "PUT /api/pools/admin/channels/twitch/foo";

    [Fact]
    public async Task A_channel_another_streamer_has_is_linked_only_after_a_confirmation_naming_them_and_that_their_open_pools_move()
    {
        var (ana, other) = (Streamer("Ana"), Guid.NewGuid());
        Gateway.Answer(Read, () => new ChannelLink(new PoolChannel("twitch", "foo"), other, Guid.NewGuid(), DateTimeOffset.UtcNow));
        Gateway.Answer(Link, () => new ChannelLink(new PoolChannel("twitch", "foo"), ana.Id, AdminId, DateTimeOffset.UtcNow, other));
        var page = await AskToLinkAsync(ana);

        var question = page.Find($"{LinkForm} [data-testid=confirm]").TextContent;
        Assert.Contains("Link twitch:foo to Ana (ana@example.com)?", question);
        Assert.Contains($"It is linked to another streamer now, user id {other}: it moves to Ana", question);
        Assert.Contains("that streamer's open pools on it become Ana's to lock, resolve or cancel", question);
        Assert.Equal([Read], Gateway.Requests.Where(r => r.Contains("/channels/twitch/foo", StringComparison.Ordinal)));

        await page.InvokeAsync(() => Confirmation(page, LinkForm).ClickAsync(new()));

        Assert.Equal([Read, Link], Gateway.Requests.Where(r => r.Contains("/channels/twitch/foo", StringComparison.Ordinal)));
        Assert.Contains($"twitch:foo moved to Ana from another streamer (user id {other})", page.Find("[data-testid=message]").TextContent);
    }

    [Fact]
    public async Task A_channel_no_one_has_is_linked_after_a_plain_confirmation()
    {
        var ana = Streamer("Ana");
        Gateway.Refuse(Read, HttpStatusCode.NotFound,
            new { type = "https://streambets.dev/problems/channel-not-linked", title = "Channel not linked", status = 404 });
        Gateway.Answer(Link, () => new ChannelLink(new PoolChannel("twitch", "foo"), ana.Id, AdminId, DateTimeOffset.UtcNow));
        var page = await AskToLinkAsync(ana);

        Assert.Equal("Link twitch:foo to Ana (ana@example.com)? No streamer has it linked now.", page.Find($"{LinkForm} [data-testid=confirm] > span").TextContent);
        Assert.Empty(page.FindAll("[data-testid=problem]"));

        await page.InvokeAsync(() => Confirmation(page, LinkForm).ClickAsync(new()));

        Assert.Single(Gateway.Requests, r => r == Link);
        Assert.Contains("twitch:foo is linked to Ana", page.Find("[data-testid=message]").TextContent);
    }

    [Fact]
    public async Task A_channel_already_theirs_is_not_linked_again_and_nothing_is_asked()
    {
        // Linking it again would move nothing, yet would be recorded and would give its chat back to its owner.
        var ana = Streamer("Ana");
        Gateway.Answer(Read, () => new ChannelLink(new PoolChannel("twitch", "foo"), ana.Id, Guid.NewGuid(), DateTimeOffset.UtcNow));
        var page = await StreamerOnAccountsAsync(ana);
        page.Find("#channel-id").Change("foo");

        await page.InvokeAsync(() => page.Find(LinkForm).SubmitAsync());

        Assert.Empty(page.FindAll("[data-testid=confirm]"));
        Assert.DoesNotContain(Gateway.Requests, r => r.StartsWith("PUT", StringComparison.Ordinal));
        Assert.Contains("twitch:foo is already linked to Ana: nothing to do.", page.Find("[data-testid=message]").TextContent);
        Assert.Single(page.FindAll("[data-testid=channel-link][data-channel='twitch:foo']"));
    }

    [Fact]
    public async Task A_channel_id_Pools_refuses_is_shown_as_refused_and_nothing_is_asked()
    {
        var ana = Streamer("Ana");
        Gateway.Refuse("GET /api/pools/admin/channels/twitch/not a channel", HttpStatusCode.BadRequest, new
        {
            type = "https://streambets.dev/problems/invalid-request", title = "Invalid request", status = 400,
            errors = new Dictionary<string, string[]> { ["channel.channelId"] = ["The channel id is 1 to 100 letters, digits, '_', '-' or '.'."] },
        });
        var page = await StreamerOnAccountsAsync(ana);
        page.Find("#channel-id").Change("not a channel");

        await page.InvokeAsync(() => page.Find(LinkForm).SubmitAsync());

        Assert.Empty(page.FindAll("[data-testid=confirm]"));
        Assert.DoesNotContain(Gateway.Requests, r => r.StartsWith("PUT", StringComparison.Ordinal));
        Assert.Contains("The channel id is 1 to 100 letters", page.Find("[data-testid=problem]").TextContent);
        Assert.False(page.Find("#channel-id").HasAttribute("disabled"), "The channel id cannot be corrected.");
    }

    /// <summary>Accounts showing <paramref name="streamer"/>, twitch:foo typed and Link channel clicked: its owner read and the confirmation open.</summary>
    private async Task<IRenderedComponent<Accounts>> AskToLinkAsync(Account streamer)
    {
        var page = await StreamerOnAccountsAsync(streamer);
        page.Find("#channel-id").Change("foo");
        await page.InvokeAsync(() => page.Find(LinkForm).SubmitAsync());
        page.WaitForAssertion(() => Assert.Single(page.FindAll($"{LinkForm} [data-testid=confirm]")));
        Assert.True(page.Find("#channel-id").HasAttribute("disabled"), "The channel can change after the confirmation named it.");
        Assert.DoesNotContain(Gateway.Requests, r => r.StartsWith("PUT", StringComparison.Ordinal));
        return page;
    }
}
