using StreamBets.Realtime.Chat;
using StreamBets.Realtime.Hubs;
using StreamBets.Realtime.Live;

namespace StreamBets.Realtime.Tests;

/// <summary>The plain rules behind the hub, without a server.</summary>
public sealed class NamingAndTextRulesTests
{
    [Theory]
    [InlineData("twitch:12826", "twitch:12826")]
    [InlineData("Twitch:Gaules", "twitch:Gaules")]
    [InlineData("kick:some_one.tv-2", "kick:some_one.tv-2")]
    [InlineData("myspace:123", null)]
    [InlineData("twitch:", null)]
    [InlineData("twitch:a b", null)]
    [InlineData("twitch:gaules\n", null)]
    [InlineData("12826", null)]
    [InlineData(null, null)]
    public void Channels_are_provider_colon_id_with_the_provider_lower_cased(string? channel, string? normalised) =>
        Assert.Equal(normalised, ChannelNames.TryNormalise(channel));

    [Fact]
    public void The_user_stream_is_always_the_callers_own()
    {
        var caller = Guid.NewGuid();

        Assert.Equal(LiveStream.User(caller), LiveStream.TryParse("user", caller));
        Assert.Null(LiveStream.TryParse("user", caller: null));
        Assert.Null(LiveStream.TryParse($"user:{Guid.NewGuid()}", caller));
        Assert.Equal($"user:{caller}", LiveStream.User(caller).Group);
        Assert.Equal("user", LiveStream.User(caller).Name);
        Assert.Equal("channel:twitch:1", LiveStream.TryParse("channel:Twitch:1", caller)?.Name);
    }

    [Fact]
    public void Chat_text_is_trimmed_and_control_characters_become_spaces()
    {
        Assert.Equal("line one  line two", ChatText.Clean("  line one\r\nline two\t", 300));
        Assert.Equal("message-empty", Assert.Throws<RefusedException>(() => ChatText.Clean("\n\u0007 ", 300)).Code);
        Assert.Equal("message-too-long", Assert.Throws<RefusedException>(() => ChatText.Clean(new string('x', 301), 300)).Code);
        Assert.Equal(300, ChatText.Clean($"  {new string('x', 300)}  ", 300).Length);
    }

    [Fact]
    public void Line_separators_become_spaces_and_bidi_and_zero_width_characters_are_dropped()
    {
        Assert.Equal("one two three", ChatText.Clean("one\u2028two\u2029three", 300));
        Assert.Equal("gg ez", ChatText.Clean("g\u200Bg \u202Eez\u202C", 300));
        Assert.Equal("admin", ChatText.Clean("\u2066ad\u2060min\uFEFF\u2069", 300));
        Assert.Equal("hi", ChatText.Clean("\u200Dhi\u200C", 300));
    }

    [Theory]
    [InlineData("\u200B")]
    [InlineData("\u200B\u200C\u200D\u2060\uFEFF")]
    [InlineData(" \u202E \u2066\u2069 ")]
    [InlineData("\u2028\u2029")]
    [InlineData("\u3164")] // Hangul filler
    [InlineData("\u115F\u1160\uFFA0")] // the other Hangul fillers
    [InlineData("\u2800")] // blank braille pattern
    [InlineData("\uFE0F")] // variation selector
    [InlineData("\u034F")] // combining grapheme joiner
    [InlineData(" \u3164\u2800 \uFE0F\u034F ")]
    public void Invisible_text_is_an_empty_message(string text) =>
        Assert.Equal("message-empty", Assert.Throws<RefusedException>(() => ChatText.Clean(text, 300)).Code);

    [Fact]
    public void A_character_keeps_at_most_four_combining_marks()
    {
        var zalgo = "a" + new string('\u0301', 299);

        Assert.Equal("a\u0301\u0301\u0301\u0301", ChatText.Clean(zalgo, 300));
        Assert.Equal("ha\u0301\u0301\u0301\u0301ha\u0300", ChatText.Clean("ha" + new string('\u0301', 20) + "ha\u0300", 300));
        Assert.Equal("Vi\u1EC7t", ChatText.Clean("Vi\u1EC7t", 300)); // precomposed
        Assert.Equal("Vie\u0323\u0302t", ChatText.Clean("Vie\u0323\u0302t", 300)); // decomposed: two marks
        // A dropped zero-width space between marks starts no new count.
        Assert.Equal("e\u0301\u0301\u0301\u0301", ChatText.Clean("e" + string.Concat(Enumerable.Repeat("\u0301\u0301\u0301\u0301\u200B", 20)), 300));
    }

    [Fact]
    public void Blank_characters_next_to_visible_text_are_kept()
    {
        Assert.Equal("1\uFE0F\u20E3", ChatText.Clean("1\uFE0F\u20E3", 300)); // keycap: a variation selector and an enclosing mark
        Assert.Equal("\u3131\u3164", ChatText.Clean("\u3131\u3164", 300));
    }

    [Fact]
    public void The_pool_to_channel_mapping_outlives_the_longest_lock()
    {
        // Pools' autoCancelAfterHours is at most 168 h (docs/pools.md): a pool may stay locked that long before its
        // result, and its settlement comes after it.
        var longestLock = TimeSpan.FromHours(168);

        Assert.True(new RealtimeOptions().PoolChannelRetention >= 2 * longestLock);
    }

    [Theory]
    [InlineData("\U0001F468\u200D\U0001F469\u200D\U0001F467")] // family
    [InlineData("\U0001F3F3\uFE0F\u200D\U0001F308")] // rainbow flag: the joiner follows a variation selector
    [InlineData("\u0645\u06CC\u200C\u062E\u0648\u0627\u0647\u0645")] // Persian "mikhaham", a non-joiner inside the word
    public void A_joiner_between_two_visible_characters_is_kept(string text) => Assert.Equal(text, ChatText.Clean(text, 300));

    [Fact]
    public void A_replayed_entry_carries_the_sequence_the_script_gave_it()
    {
        var message = new ChatMessage("id-1", "twitch:1", Guid.NewGuid(), "Ana", "oi", DateTimeOffset.UnixEpoch) { Stream = "channel:twitch:1" };

        var replayed = LiveStreamStore.Parse($"42 {LiveStreamStore.Entry(message)}");

        Assert.Equal("ChatMessage", replayed.Type);
        Assert.Equal(42, (long)replayed.Payload["sequence"]!);
        Assert.Equal("oi", (string)replayed.Payload["text"]!);
        Assert.Equal("channel:twitch:1", (string)replayed.Payload["stream"]!);
    }
}
