using Bunit;
using StreamBets.Web.Components.Shared;

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
}
