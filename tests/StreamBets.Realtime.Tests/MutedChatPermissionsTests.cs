using Microsoft.AspNetCore.SignalR;
using StreamBets.Realtime.Hubs;

namespace StreamBets.Realtime.Tests;

/// <summary>
/// GetChatPermissions is what a client shows the chat input by: a muted user's every send is refused and uses up their
/// rate limit, so while the mute lasts they cannot chat.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class MutedChatPermissionsTests(RealtimeStack stack)
{
    private sealed record Permissions(bool CanChat, bool CanModerate, bool CanManageModerators, bool Banned, int MutedForSeconds);

    [Fact]
    public async Task A_muted_user_is_told_they_cannot_chat_until_the_mute_is_lifted()
    {
        var channel = TestEvents.NewChannel();
        var mutedId = Guid.NewGuid();
        await using var admin = await stack.ConnectAsync(Guid.NewGuid(), AuthenticationDefaults.Roles.Admin);
        await using var muted = await stack.ConnectAsync(mutedId, toHostB: true);
        Assert.True((await muted.InvokeAsync<Permissions>("GetChatPermissions", channel)).CanChat);

        await admin.InvokeAsync("MuteUser", channel, mutedId, 600);

        var whileMuted = await muted.InvokeAsync<Permissions>("GetChatPermissions", channel);
        Assert.False(whileMuted.CanChat);
        Assert.False(whileMuted.Banned);
        Assert.InRange(whileMuted.MutedForSeconds, 1, 600);
        Assert.Equal("muted", Refusal.Code(await Assert.ThrowsAsync<HubException>(() => muted.InvokeAsync("SendChat", channel, "hello?"))));
        // The mute is this channel's only.
        Assert.True((await muted.InvokeAsync<Permissions>("GetChatPermissions", TestEvents.NewChannel())).CanChat);

        await admin.InvokeAsync("UnmuteUser", channel, mutedId);

        var unmuted = await muted.InvokeAsync<Permissions>("GetChatPermissions", channel);
        Assert.True(unmuted.CanChat);
        Assert.Equal(0, unmuted.MutedForSeconds);
    }
}
