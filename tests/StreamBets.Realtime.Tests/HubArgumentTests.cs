using System.Text.Json;
using Microsoft.AspNetCore.SignalR;

namespace StreamBets.Realtime.Tests;

/// <summary>
/// An argument of the wrong shape is a refusal with a code like any other, not SignalR's uncoded "error on the server"
/// (which it sends for an argument it cannot bind, before the hub runs).
/// </summary>
[Collection(StackCollection.Name)]
public sealed class HubArgumentTests(RealtimeStack stack)
{
    private static async Task<string> RefusalCode(Func<Task> call) => Refusal.Code(await Assert.ThrowsAsync<HubException>(call));

    [Theory]
    [InlineData("nope")]
    [InlineData(null)]
    [InlineData(42)]
    public async Task A_pool_that_is_not_named_by_its_id_is_an_invalid_pool_id(object? poolId)
    {
        await using var client = await stack.ConnectAsync();

        Assert.Equal("invalid-pool-id", await RefusalCode(() => client.InvokeAsync("WatchPool", poolId)));
        Assert.Equal("invalid-pool-id", await RefusalCode(() => client.InvokeAsync("UnwatchPool", poolId)));
    }

    [Theory]
    [InlineData(1.5)]
    [InlineData("3")]
    [InlineData(null)]
    [InlineData(-1)]
    public async Task Catching_up_after_anything_but_a_whole_number_of_0_or_more_is_an_invalid_sequence(object? afterSequence)
    {
        await using var client = await stack.ConnectAsync();

        Assert.Equal("invalid-sequence", await RefusalCode(() => client.InvokeAsync<List<JsonElement>>("CatchUp", $"pool:{Guid.NewGuid()}", afterSequence)));
    }

    [Fact]
    public async Task A_mute_needs_a_user_id_and_whole_seconds()
    {
        var channel = TestEvents.NewChannel();
        await using var client = await stack.ConnectAsync(Guid.NewGuid());

        Assert.Equal("invalid-user-id", await RefusalCode(() => client.InvokeAsync("MuteUser", channel, "not-a-user", 60)));
        Assert.Equal("invalid-duration", await RefusalCode(() => client.InvokeAsync("MuteUser", channel, Guid.NewGuid(), 2147483648L)));
        Assert.Equal("invalid-duration", await RefusalCode(() => client.InvokeAsync("MuteUser", channel, Guid.NewGuid(), 1.5)));
        Assert.Equal("invalid-duration", await RefusalCode(() => client.InvokeAsync("MuteUser", channel, Guid.NewGuid(), "60")));
    }

    [Theory]
    [InlineData("UnmuteUser")]
    [InlineData("BanUser")]
    [InlineData("UnbanUser")]
    [InlineData("AddModerator")]
    [InlineData("RemoveModerator")]
    [InlineData("SetChannelStreamer")]
    public async Task Moderation_names_the_user_by_their_id(string method)
    {
        await using var client = await stack.ConnectAsync(Guid.NewGuid());

        Assert.Equal("invalid-user-id", await RefusalCode(() => client.InvokeAsync(method, TestEvents.NewChannel(), "someone")));
        Assert.Equal("invalid-user-id", await RefusalCode(() => client.InvokeAsync(method, TestEvents.NewChannel(), null)));
    }

    [Fact]
    public async Task A_channel_stream_or_text_that_is_not_a_string_is_refused_with_its_code()
    {
        await using var client = await stack.ConnectAsync(Guid.NewGuid());

        Assert.Equal("invalid-channel", await RefusalCode(() => client.InvokeAsync("WatchChannel", 12826)));
        Assert.Equal("invalid-stream", await RefusalCode(() => client.InvokeAsync<List<JsonElement>>("CatchUp", 7, 0L)));
        Assert.Equal("message-empty", await RefusalCode(() => client.InvokeAsync<JsonElement>("SendChat", TestEvents.NewChannel(), new[] { "hi" })));
    }
}
