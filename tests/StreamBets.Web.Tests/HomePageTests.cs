using System.Globalization;
using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
using StreamBets.Web.Components.Pages;
using StreamBets.Web.Gateway;

namespace StreamBets.Web.Tests;

/// <summary>
/// Home's "Live now" list: Realtime pushes a new pool only to its channel's watchers, and Home watches no channel, so
/// the page reads the list again on its clock (and soon after a shown channel's next lock), one read at a time.
/// </summary>
public sealed class HomePageTests : PlayerPageTest
{
    private const string ChannelsPath = "/api/pools/channels";
    private const string Card = "[data-testid=channel-card]";

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Bunit.AddAuthorization().SetAuthorized("Ana");
    }

    [Fact]
    public void A_channel_gone_live_since_the_page_opened_shows_on_the_next_read()
    {
        var first = Channel("streamer1", nextLockIn: TimeSpan.FromMinutes(10));
        Gateway.Answer(ChannelsPath, new[] { first });
        var page = Bunit.Render<Home>();
        page.WaitForAssertion(() => Assert.Single(page.FindAll(Card)));

        Gateway.Answer(ChannelsPath, new[] { Channel("streamer2", nextLockIn: null), first });
        Clock.Advance(TimeSpan.FromSeconds(20));

        page.WaitForAssertion(() => Assert.Equal(2, page.FindAll(Card).Count));
        Assert.Contains("streamer2", page.FindAll(Card)[0].TextContent);
        Assert.Equal(2, Gateway.Requests.Count(p => p == ChannelsPath)); // one read per interval
    }

    [Fact]
    public async Task A_channel_whose_only_pool_locked_goes_soon_after_its_lock_time()
    {
        var locking = Channel("streamer1", nextLockIn: TimeSpan.FromSeconds(8));
        var staying = Channel("streamer2", nextLockIn: null);
        Gateway.Answer(ChannelsPath, new[] { locking, staying });
        var page = Bunit.Render<Home>();
        page.WaitForAssertion(() => Assert.Equal(2, page.FindAll(Card).Count));

        // Pools locks the pool at its lock time: the channel has no pool open or locked any more.
        Gateway.Answer(ChannelsPath, new[] { staying });
        Clock.Advance(TimeSpan.FromSeconds(8));
        Assert.True(await StaysAsync(() => Gateway.Requests.Count(p => p == ChannelsPath) == 1)); // the sweeper's moment
        Clock.Advance(TimeSpan.FromSeconds(2));

        page.WaitForAssertion(() => Assert.Single(page.FindAll(Card)));
        Assert.Contains("streamer2", page.Find(Card).TextContent);
        Assert.Equal(2, Gateway.Requests.Count(p => p == ChannelsPath));
    }

    [Fact]
    public async Task A_failed_read_keeps_the_channels_shown_and_is_tried_again()
    {
        var first = Channel("streamer1", nextLockIn: null);
        Gateway.Answer(ChannelsPath, new[] { first });
        var page = Bunit.Render<Home>();
        page.WaitForAssertion(() => Assert.Single(page.FindAll(Card)));

        Gateway.Refuse(ChannelsPath, 503, "dependency-unavailable");
        Clock.Advance(TimeSpan.FromSeconds(20));
        Assert.True(await SoonAsync(() => Gateway.Requests.Count(p => p == ChannelsPath) == 2));
        Assert.True(await StaysAsync(() => page.FindAll(Card).Count == 1 && page.FindAll("[data-testid=problem]").Count == 0));

        Gateway.Answer(ChannelsPath, new[] { first, Channel("streamer2", nextLockIn: null) });
        Clock.Advance(TimeSpan.FromSeconds(5));

        page.WaitForAssertion(() => Assert.Equal(2, page.FindAll(Card).Count));
    }

    [Fact]
    public async Task A_slow_read_is_not_overlapped_and_the_reads_stop_with_the_page()
    {
        Gateway.Answer(ChannelsPath, new[] { Channel("streamer1", nextLockIn: null) });
        var page = Bunit.Render<Home>();
        page.WaitForAssertion(() => Assert.Single(page.FindAll(Card)));

        var release = Gateway.Hold(ChannelsPath);
        Clock.Advance(TimeSpan.FromSeconds(20));
        Assert.True(await SoonAsync(() => Gateway.Requests.Count(p => p == ChannelsPath) == 2));
        for (var i = 0; i < 6; i++)
        {
            Clock.Advance(TimeSpan.FromSeconds(20));
        }
        Assert.True(await StaysAsync(() => Gateway.Requests.Count(p => p == ChannelsPath) == 2));
        Gateway.Answer(ChannelsPath, new[] { Channel("streamer1", nextLockIn: null), Channel("streamer2", nextLockIn: null) });
        release();
        page.WaitForAssertion(() => Assert.Equal(2, page.FindAll(Card).Count));

        await Bunit.DisposeComponentsAsync();
        for (var i = 0; i < 6; i++)
        {
            Clock.Advance(TimeSpan.FromSeconds(20));
        }
        Assert.True(await StaysAsync(() => Gateway.Requests.Count(p => p == ChannelsPath) == 2));
    }

    /// <summary>Before, a pasted https://twitch.tv/foo went to /channels/https/%2F%2Ftwitch.tv%2Ffoo.</summary>
    [Theory]
    [InlineData("https://twitch.tv/foo", "/channels/twitch/foo")]
    [InlineData("https://www.twitch.tv/foo?sr=a", "/channels/twitch/foo")]
    [InlineData(" Kick: foo ", "/channels/kick/foo")]
    [InlineData("channel:twitch:foo", "/channels/twitch/foo")]
    [InlineData(" foo ", "/channels/twitch/foo")]
    [InlineData("www.youtube.com/channel/UCx9b-Q_7Lw", "/channels/youtube/UCx9b-Q_7Lw")]
    public async Task A_channel_typed_or_pasted_opens_its_page(string typed, string path)
    {
        Gateway.Answer(ChannelsPath, Array.Empty<LiveChannel>());
        var page = Bunit.Render<Home>();
        var navigation = Bunit.Services.GetRequiredService<NavigationManager>();

        await page.InvokeAsync(() => page.Find("#channel-search").Change(typed));
        await page.InvokeAsync(() => page.Find("form").Submit());

        Assert.Equal(path, "/" + navigation.ToBaseRelativePath(navigation.Uri));
    }

    /// <summary>Before, "streamer1" was taken for a Twitch channel and the rest opened a channel page refused by Pools.</summary>
    [Theory]
    [InlineData("twitch:stream er1")]
    [InlineData("https://www.youtube.com/@streamer1")]
    [InlineData("https://example.com/streamer1")]
    public async Task A_channel_that_is_none_is_refused_by_the_field_in_the_players_language(string typed)
    {
        CultureInfo.CurrentUICulture = new CultureInfo("pt-BR"); // flows into this test's awaits, and the handlers they run
        Gateway.Answer(ChannelsPath, Array.Empty<LiveChannel>());
        var page = Bunit.Render<Home>();
        var navigation = Bunit.Services.GetRequiredService<NavigationManager>();
        var before = navigation.Uri;

        await page.InvokeAsync(() => page.Find("#channel-search").Change(typed));
        await page.InvokeAsync(() => page.Find("form").Submit());

        Assert.StartsWith("Informe o canal como plataforma:id", page.Find("[data-testid=channel-error]").TextContent);
        Assert.Equal(before, navigation.Uri);
    }

    private LiveChannel Channel(string channelId, TimeSpan? nextLockIn) =>
        new($"twitch:{channelId}", "twitch", channelId, 1, nextLockIn is null ? 0 : 1, Clock.GetUtcNow() + nextLockIn);
}
