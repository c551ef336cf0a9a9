using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using StreamBets.Testing;

namespace StreamBets.Realtime.Tests;

/// <summary>
/// Streamer powers in a channel's chat need the streamer role in the caller's token now, however the user came to be
/// named its streamer: an admin's naming, a pool's claim and a go-live live only in Redis, with nothing in Pools to
/// unlink when Users demotes the streamer, whose next sign-in carries the player role.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class DemotedStreamerTests(RealtimeStack stack)
{
    private sealed record Permissions(bool CanChat, bool CanModerate, bool CanManageModerators, bool Banned, int MutedForSeconds);

    [Theory]
    [InlineData("name")]
    [InlineData("claim")]
    [InlineData("live")]
    public async Task A_named_streamer_signed_in_again_as_a_player_can_no_longer_moderate_the_chat(string namedBy)
    {
        var channel = TestEvents.NewChannel();
        var (demotedId, trollId, friendId) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        await NameStreamerAsync(channel, demotedId, namedBy);
        await using var troll = await stack.ConnectAsync(trollId);
        var rude = await troll.InvokeAsync<JsonElement>("SendChat", channel, "spam");

        await using var demoted = await stack.ConnectAsync(demotedId, AuthenticationDefaults.Roles.Player, toHostB: true);

        var permissions = await demoted.InvokeAsync<Permissions>("GetChatPermissions", channel);
        Assert.False(permissions.CanModerate);
        Assert.False(permissions.CanManageModerators);
        Assert.True(permissions.CanChat);
        Assert.Equal("not-a-moderator", await RefusedAsync(() => demoted.InvokeAsync("DeleteChatMessage", channel, rude.Text("id"))));
        Assert.Equal("not-a-moderator", await RefusedAsync(() => demoted.InvokeAsync("MuteUser", channel, trollId, 600)));
        Assert.Equal("not-a-moderator", await RefusedAsync(() => demoted.InvokeAsync("BanUser", channel, trollId)));
        Assert.Equal("not-a-moderator", await RefusedAsync(() => demoted.InvokeAsync("UnbanUser", channel, trollId)));
        Assert.Equal("not-the-streamer", await RefusedAsync(() => demoted.InvokeAsync("AddModerator", channel, friendId)));
        Assert.Equal("not-the-streamer", await RefusedAsync(() => demoted.InvokeAsync("GetModerators", channel)));

        // Nothing the refused calls asked for happened.
        var trollPermissions = await troll.InvokeAsync<Permissions>("GetChatPermissions", channel);
        Assert.False(trollPermissions.Banned);
        Assert.Equal(0, trollPermissions.MutedForSeconds);
        Assert.Equal([rude.Text("id")], (await troll.InvokeAsync<List<JsonElement>>("GetChatHistory", channel)).Select(m => m.Text("id")));
        await using var admin = await stack.ConnectAsync(Guid.NewGuid(), AuthenticationDefaults.Roles.Admin);
        Assert.Empty(await admin.InvokeAsync<List<Guid>>("GetModerators", channel));
    }

    [Fact]
    public async Task The_same_named_user_with_a_streamer_token_keeps_the_streamers_powers()
    {
        var channel = TestEvents.NewChannel();
        var (streamerId, trollId, friendId) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        await NameStreamerAsync(channel, streamerId, "name");
        await using var troll = await stack.ConnectAsync(trollId);
        var rude = await troll.InvokeAsync<JsonElement>("SendChat", channel, "spam");

        await using var streamer = await stack.ConnectAsync(streamerId, AuthenticationDefaults.Roles.Streamer, toHostB: true);

        var permissions = await streamer.InvokeAsync<Permissions>("GetChatPermissions", channel);
        Assert.True(permissions.CanModerate);
        Assert.True(permissions.CanManageModerators);
        await streamer.InvokeAsync("DeleteChatMessage", channel, rude.Text("id"));
        await streamer.InvokeAsync("MuteUser", channel, trollId, 600);
        await streamer.InvokeAsync("BanUser", channel, trollId);
        await streamer.InvokeAsync("AddModerator", channel, friendId);
        Assert.Equal([friendId], await streamer.InvokeAsync<List<Guid>>("GetModerators", channel));
        var trollPermissions = await troll.InvokeAsync<Permissions>("GetChatPermissions", channel);
        Assert.True(trollPermissions.Banned);
        Assert.True(trollPermissions.MutedForSeconds > 0);
        Assert.Empty(await troll.InvokeAsync<List<JsonElement>>("GetChatHistory", channel));
    }

    [Fact]
    public async Task An_admin_still_moderates_a_chat_whose_named_streamer_was_demoted()
    {
        var channel = TestEvents.NewChannel();
        var (demotedId, trollId, friendId) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        await NameStreamerAsync(channel, demotedId, "name");
        await using var troll = await stack.ConnectAsync(trollId);
        var rude = await troll.InvokeAsync<JsonElement>("SendChat", channel, "spam");
        await using var admin = await stack.ConnectAsync(Guid.NewGuid(), AuthenticationDefaults.Roles.Admin, toHostB: true);

        var permissions = await admin.InvokeAsync<Permissions>("GetChatPermissions", channel);
        Assert.True(permissions.CanModerate);
        Assert.True(permissions.CanManageModerators);
        await admin.InvokeAsync("DeleteChatMessage", channel, rude.Text("id"));
        await admin.InvokeAsync("MuteUser", channel, trollId, 600);
        await admin.InvokeAsync("BanUser", channel, trollId);
        await admin.InvokeAsync("AddModerator", channel, friendId);
        Assert.Equal([friendId], await admin.InvokeAsync<List<Guid>>("GetModerators", channel));
        Assert.True((await troll.InvokeAsync<Permissions>("GetChatPermissions", channel)).Banned);
        Assert.Empty(await troll.InvokeAsync<List<JsonElement>>("GetChatHistory", channel));
    }

    [Fact]
    public async Task A_demoted_streamers_moderators_keep_moderating_until_an_admin_names_another_streamer()
    {
        var channel = TestEvents.NewChannel();
        var (demotedId, modId, trollId, nextId) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        await NameStreamerAsync(channel, demotedId, "name");
        await using (var whileStreamer = await stack.ConnectAsync(demotedId, AuthenticationDefaults.Roles.Streamer))
        {
            await whileStreamer.InvokeAsync("AddModerator", channel, modId);
        }
        await using var moderator = await stack.ConnectAsync(modId, toHostB: true);

        // A moderator's call carries only the moderator's role: Realtime cannot see that the streamer was demoted.
        await moderator.InvokeAsync("MuteUser", channel, trollId, 60);
        await using var admin = await stack.ConnectAsync(Guid.NewGuid(), AuthenticationDefaults.Roles.Admin);
        await admin.InvokeAsync("SetChannelStreamer", channel, nextId);

        Assert.False((await moderator.InvokeAsync<Permissions>("GetChatPermissions", channel)).CanModerate);
        Assert.Equal("not-a-moderator", await RefusedAsync(() => moderator.InvokeAsync("BanUser", channel, trollId)));
    }

    /// <summary>
    /// Makes <paramref name="userId"/> the channel's streamer: an admin names them, their pool claims the channel, or the
    /// channel goes live with them; then waits until a streamer token of theirs holds the powers.
    /// </summary>
    private async Task NameStreamerAsync(string channel, Guid userId, string namedBy)
    {
        switch (namedBy)
        {
            case "name":
                await using (var admin = await stack.ConnectAsync(Guid.NewGuid(), AuthenticationDefaults.Roles.Admin))
                {
                    await admin.InvokeAsync("SetChannelStreamer", channel, userId);
                }
                break;
            case "claim":
                await stack.Bus.PublishAsync(TestEvents.Created(Guid.NewGuid(), channel, userId));
                break;
            case "live":
                await stack.Bus.PublishAsync(TestEvents.WentLive(channel, userId));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(namedBy), namedBy, "name, claim or live");
        }
        await using var asStreamer = await stack.ConnectAsync(userId, AuthenticationDefaults.Roles.Streamer);
        Assert.True(await Eventually.HoldsAsync(
            async () => (await asStreamer.InvokeAsync<Permissions>("GetChatPermissions", channel)).CanManageModerators, TimeSpan.FromSeconds(20)),
            $"the {namedBy} did not make the user the channel's streamer");
    }

    private static async Task<string> RefusedAsync(Func<Task> call) => Refusal.Code(await Assert.ThrowsAsync<HubException>(call));
}
