using System.Text.Json;
using StreamBets.Realtime.Chat;
using StreamBets.Realtime.Hubs;

namespace StreamBets.Realtime.Tests;

/// <summary>
/// A chat message's length is counted as Pools counts a pool's title: code points of the composed (NFC) form, so an emoji
/// is one character, not the two UTF-16 units it takes in a .NET string.
/// </summary>
public sealed class ChatLengthTests
{
    private const string Grin = "\U0001F600";

    [Fact]
    public void An_emoji_counts_as_one_character()
    {
        var twoHundred = string.Concat(Enumerable.Repeat(Grin, 200));
        var threeHundred = string.Concat(Enumerable.Repeat(Grin, 300));

        Assert.Equal(twoHundred, ChatText.Clean(twoHundred, 300));
        Assert.Equal(threeHundred, ChatText.Clean(threeHundred, 300));
    }

    [Fact]
    public void A_message_over_the_limit_is_refused_with_its_length_in_characters()
    {
        var refused = Assert.Throws<RefusedException>(() => ChatText.Clean(string.Concat(Enumerable.Repeat(Grin, 301)), 300));

        Assert.Equal("message-too-long", refused.Code);
        Assert.Contains("this one has 301", refused.Message, StringComparison.Ordinal);
        Assert.Equal("message-too-long", Assert.Throws<RefusedException>(() => ChatText.Clean(new string('x', 150) + string.Concat(Enumerable.Repeat(Grin, 151)), 300)).Code);
    }

    [Fact]
    public void An_accent_typed_as_a_combining_mark_counts_as_the_accented_letter()
    {
        // "é" typed as "e" and U+0301 is one character once composed, as Pools stores and counts it.
        var decomposed = string.Concat(Enumerable.Repeat("e\u0301", 300));

        Assert.Equal(decomposed, ChatText.Clean(decomposed, 300));
    }
}

[Collection(StackCollection.Name)]
public sealed class ChatLengthOverTheHubTests(RealtimeStack stack)
{
    [Fact]
    public async Task Two_hundred_emoji_go_out_as_one_chat_message()
    {
        var channel = TestEvents.NewChannel();
        await using var viewer = await stack.ConnectAsync(Guid.NewGuid());
        var text = string.Concat(Enumerable.Repeat("\U0001F600", 200));

        var sent = await viewer.InvokeAsync<JsonElement>("SendChat", channel, text);

        Assert.Equal(text, sent.Text("text"));
    }
}
