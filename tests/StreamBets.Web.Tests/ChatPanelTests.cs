using Bunit;
using StreamBets.Web.Components.Shared;
using StreamBets.Web.Live;

namespace StreamBets.Web.Tests;

/// <summary>The chat beside a pool or channel: a typed line goes with the first Enter or tap, and its errors go when fixed.</summary>
public sealed class ChatPanelTests : ConnectedPageTest
{
    private const string Channel = "twitch:streamer1";

    [Fact]
    public async Task A_line_typed_is_sent_by_the_first_enter_or_tap_on_send()
    {
        var chat = Bunit.Render<ChatPanel>(parameters => parameters.Add(p => p.Channel, Channel));
        Assert.True(await SoonAsync(() => Hub.Calls.Contains($"GetChatHistory {Channel}")));

        // While the player types, the page has not heard the text yet (it comes with the change event, just before the
        // submit): the browser submits on Enter, or takes the tap, only if the button it sees then is enabled.
        chat.WaitForAssertion(() => Assert.False(chat.Find("button[type=submit]").HasAttribute("disabled"), "Send is disabled while the line is typed"));
        await chat.InvokeAsync(() =>
        {
            chat.Find("input").Change("Oi");
            return chat.Find("form").SubmitAsync();
        });

        Assert.Contains(Hub.Calls, call => call.StartsWith($"SendChatOnce {Channel} Oi ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_chat_history_error_goes_once_a_later_history_read_succeeds()
    {
        Hub.RefuseNext("GetChatHistory", refusal: "invalid-channel: Name the channel as provider:channelId.");
        var chat = Bunit.Render<ChatPanel>(parameters => parameters.Add(p => p.Channel, Channel));
        chat.WaitForAssertion(() => Assert.Single(chat.FindAll(".problem")));

        // A replica restarts: the reconnect reads the history again, and this time it answers.
        Hub.DropConnections();

        Assert.True(await SoonAsync(() => Hub.Calls.Count(c => c == $"GetChatHistory {Channel}") == 2));
        chat.WaitForAssertion(() => Assert.Empty(chat.FindAll(".problem")));
    }
    /// <summary>
    /// Before, only a change of the connection read the history again: a gap in the channel's stream while the connection
    /// stayed up (a resync, Redis numbering the stream again, over 200 lines missed) left a deleted line on screen.
    /// </summary>
    [Fact]
    public async Task A_line_deleted_while_the_channel_stream_could_not_be_caught_up_goes_from_the_chat()
    {
        var chat = Bunit.Render<ChatPanel>(parameters => parameters.Add(p => p.Channel, Channel));
        Assert.True(await SoonAsync(() => Hub.Calls.Contains($"WatchChannel {Channel}") && Hub.Calls.Contains($"GetChatHistory {Channel}")));
        var abusive = Line("abusive line", 1);
        await Hub.PushAsync("ChatMessage", abusive);
        chat.WaitForAssertion(() => Assert.Contains("abusive line", chat.Find("[data-testid=chat-log]").TextContent));

        // A moderator deletes it, but the deletion's push never arrives and the stream's replay is gone; the next line
        // shows the gap, and its catch-up is refused.
        var next = Line("next line", 3);
        Hub.ChatHistoryIs(Channel, next);
        Hub.Forget(StreamOf(Channel));
        await Hub.PushAsync("ChatMessage", next);

        Assert.True(await SoonAsync(() => Hub.Calls.Contains($"CatchUp {StreamOf(Channel)} 1")), string.Join("; ", Hub.Calls));
        chat.WaitForAssertion(() =>
        {
            var log = chat.Find("[data-testid=chat-log]").TextContent;
            Assert.DoesNotContain("abusive line", log);
            Assert.Contains("next line", log);
        });
    }

    /// <summary>Before, the field's maxlength of 300 UTF-16 units stopped the player at 150 emoji, which Realtime takes.</summary>
    [Fact]
    public async Task A_line_of_200_emoji_can_be_typed_and_is_sent()
    {
        var chat = Bunit.Render<ChatPanel>(parameters => parameters.Add(p => p.Channel, Channel));
        Assert.True(await SoonAsync(() => Hub.Calls.Contains($"GetChatHistory {Channel}")));
        var emoji = string.Concat(Enumerable.Repeat("\U0001F600", 200)); // 400 UTF-16 units, 200 characters as Realtime counts

        // A browser counts maxlength in UTF-16 units: it must leave room for 300 characters of two units each.
        chat.WaitForAssertion(() => Assert.True(chat.Find("input").GetAttribute("maxlength") is not { } limit || int.Parse(limit) >= 600,
            "the browser would cut the line before 300 emoji"));
        await chat.InvokeAsync(() =>
        {
            chat.Find("input").Change(emoji);
            return chat.Find("form").SubmitAsync();
        });

        Assert.Contains(Hub.Calls, call => call.StartsWith($"SendChatOnce {Channel} {emoji} ", StringComparison.Ordinal));
        Assert.Empty(chat.FindAll(".problem"));
    }

    [Fact]
    public async Task A_line_over_300_characters_is_refused_in_the_page_without_a_send()
    {
        var chat = Bunit.Render<ChatPanel>(parameters => parameters.Add(p => p.Channel, Channel));
        Assert.True(await SoonAsync(() => Hub.Calls.Contains($"GetChatHistory {Channel}")));

        await chat.InvokeAsync(() =>
        {
            chat.Find("input").Change(new string('a', 301));
            return chat.Find("form").SubmitAsync();
        });

        chat.WaitForAssertion(() => Assert.Equal("Messages are at most 300 characters: shorten yours.", chat.Find(".problem").TextContent));
        Assert.DoesNotContain(Hub.Calls, call => call.StartsWith("SendChatOnce", StringComparison.Ordinal));
    }

    private static ChatMessage Line(string text, long sequence) =>
        new(Guid.NewGuid().ToString(), Channel, Guid.NewGuid(), "Bia", text, DateTimeOffset.UtcNow) { Stream = StreamOf(Channel), Sequence = sequence };

    private static string StreamOf(string channel) => $"channel:{channel}";
}
