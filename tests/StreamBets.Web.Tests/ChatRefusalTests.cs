using System.Globalization;
using System.Resources;
using Bunit;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Localization;
using StreamBets.Web.Components.Shared;
using StreamBets.Web.Live;

namespace StreamBets.Web.Tests;

/// <summary>A chat line the hub refused is explained in the player's language, never with SignalR's English text.</summary>
public sealed class ChatRefusalTests : ConnectedPageTest
{
    private const string Channel = "twitch:streamer1";
    private static readonly ResourceManager Strings = new("StreamBets.Web.Resources.SharedResource", typeof(SharedResource).Assembly);
    private static readonly CultureInfo Portuguese = new("pt-BR");

    protected override TimeProvider PageTime => TimeProvider.System;

    // Realtime's refusals of SendChat (docs/realtime.md, "Errors"), as it words them, and what the player reads.
    public static TheoryData<string, string, string?> Refusals => new()
    {
        { "muted: You are muted in this chat for 600 more seconds.", "Chat_muted-wait", "10:00" },
        { "rate-limited: Slow down: at most 5 messages every 10 seconds. Try again in 7 s.", "Chat_rate-limited-wait", "0:07" },
        { "banned: You are banned from this channel's chat.", "Chat_banned", null },
        { "message-too-long: Messages are at most 300 characters; this one has 301.", "Chat_message-too-long", null },
        { "message-empty: Write something first: the message is empty.", "Chat_message-empty", null },
        { "sign-in-required: Sign in to chat.", "Chat_sign-in-required", null },
        { "invalid-channel: Name the channel as provider:channelId.", "Chat_refused", null },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task A_refused_chat_line_reads_in_the_players_language(string refusal, string key, string? wait)
    {
        CultureInfo.CurrentUICulture = Portuguese; // flows into this test's awaits only, and the page's handlers it runs
        var chat = Bunit.Render<ChatPanel>(parameters => parameters.Add(p => p.Channel, Channel));
        Hub.RefuseNext("SendChatOnce", refusal: refusal);

        // In one go on the page's dispatcher: the chat history's answer re-renders the form at any moment.
        await chat.InvokeAsync(() =>
        {
            chat.Find("input").Change("Oi, pessoal");
            return chat.Find("form").SubmitAsync();
        });

        var expected = string.Format(Portuguese, Strings.GetString(key, Portuguese)!, wait);
        Assert.Equal(expected, chat.Find(".problem").TextContent);
        Assert.Contains(Hub.Calls, call => call.StartsWith($"SendChatOnce {Channel} Oi, pessoal ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_chat_line_sent_again_goes_under_its_first_id_so_it_never_shows_twice_and_a_new_line_gets_its_own()
    {
        var chat = Bunit.Render<ChatPanel>(parameters => parameters.Add(p => p.Channel, Channel));
        Task Send(string text) => chat.InvokeAsync(() =>
        {
            chat.Find("input").Change(text);
            return chat.Find("form").SubmitAsync();
        });
        string[] Sent() => [.. Hub.Calls.Where(c => c.StartsWith("SendChatOnce ", StringComparison.Ordinal)).Select(c => c.Split(' ')[^1])];

        // The first send gets no success (a refusal here; a lost answer alike): the same line goes again under its id.
        Hub.RefuseNext("SendChatOnce");
        await Send("Oi");
        await Send("Oi");
        await Send("Tchau");

        var ids = Sent();
        Assert.Equal(3, ids.Length);
        Assert.Equal(ids[0], ids[1]);
        Assert.NotEqual(ids[1], ids[2]);
        Assert.All(ids, id => Assert.True(Guid.TryParse(id, out _)));
    }

    [Fact]
    public async Task A_chat_line_sent_while_the_hub_is_out_of_reach_says_so_in_the_players_language()
    {
        CultureInfo.CurrentUICulture = Portuguese;
        await using var offline = PlayerPages.UnstartedLiveUpdates(session: null!, TimeProvider.System);
        var refused = await Assert.ThrowsAsync<HubException>(() => offline.SendChatAsync(Channel, "Oi", Guid.NewGuid()));
        using var services = new ServiceCollection().AddLogging().AddLocalization(options => options.ResourcesPath = "Resources").BuildServiceProvider();

        var text = ChatRefusal.Text(refused, services.GetRequiredService<IStringLocalizer<SharedResource>>());

        Assert.Equal(Strings.GetString("Chat_offline", Portuguese), text);
    }
}
