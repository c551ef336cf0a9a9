using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;
using StreamBets.Testing;

namespace StreamBets.Realtime.Tests;

/// <summary>
/// Streamer powers in a channel's chat need the streamer role in the caller's token now, however the user came to be
/// named its streamer: an admin's naming, a pool's claim and a go-live live only in Redis, with nothing in Pools to
/// unlink when Users demotes the streamer, whose next sign-in carries the player role. So an admin can leave such a
/// channel with no streamer (ClearChannelStreamer), which ends the demoted user's protection and their moderators.
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

    [Theory]
    [InlineData("name")]
    [InlineData("claim")]
    [InlineData("live")]
    public async Task An_admin_clears_a_demoted_streamers_channel_so_admins_can_silence_them_and_their_moderators_stop_moderating(string namedBy)
    {
        var channel = TestEvents.NewChannel();
        var (demotedId, modId, trollId) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        await NameStreamerAsync(channel, demotedId, namedBy);
        await using (var whileStreamer = await stack.ConnectAsync(demotedId, AuthenticationDefaults.Roles.Streamer))
        {
            await whileStreamer.InvokeAsync("AddModerator", channel, modId);
        }
        await using var demoted = await stack.ConnectAsync(demotedId, AuthenticationDefaults.Roles.Player);
        var line = await demoted.InvokeAsync<JsonElement>("SendChat", channel, "still named here");
        await using var moderator = await stack.ConnectAsync(modId, toHostB: true);
        await using var admin = await stack.ConnectAsync(Guid.NewGuid(), AuthenticationDefaults.Roles.Admin);
        // While named, the demoted user is the streamer as a target, admins included, and their moderator moderates.
        Assert.Equal("cannot-moderate-user", await RefusedAsync(() => admin.InvokeAsync("BanUser", channel, demotedId)));
        await moderator.InvokeAsync("MuteUser", channel, trollId, 60);

        await admin.InvokeAsync("ClearChannelStreamer", channel);

        await admin.InvokeAsync("MuteUser", channel, demotedId, 600);
        await admin.InvokeAsync("BanUser", channel, demotedId);
        var demotedPermissions = await demoted.InvokeAsync<Permissions>("GetChatPermissions", channel);
        Assert.True(demotedPermissions.Banned);
        Assert.True(demotedPermissions.MutedForSeconds > 0);
        Assert.False(demotedPermissions.CanModerate);
        // Their moderators went with them: nobody but admins moderates a channel with no streamer.
        var moderatorPermissions = await moderator.InvokeAsync<Permissions>("GetChatPermissions", channel);
        Assert.False(moderatorPermissions.CanModerate);
        Assert.False(moderatorPermissions.CanManageModerators);
        Assert.Equal("not-a-moderator", await RefusedAsync(() => moderator.InvokeAsync("UnmuteUser", channel, trollId)));
        Assert.Equal("not-a-moderator", await RefusedAsync(() => moderator.InvokeAsync("BanUser", channel, trollId)));
        Assert.Equal("not-a-moderator", await RefusedAsync(() => moderator.InvokeAsync("UnbanUser", channel, demotedId)));
        Assert.Empty(await admin.InvokeAsync<List<Guid>>("GetModerators", channel));
        // Signed in again as a streamer, the user holds nothing there either.
        await using var promoted = await stack.ConnectAsync(demotedId, AuthenticationDefaults.Roles.Streamer, toHostB: true);
        Assert.False((await promoted.InvokeAsync<Permissions>("GetChatPermissions", channel)).CanModerate);
        await admin.InvokeAsync("DeleteChatMessage", channel, line.Text("id"));
        Assert.Empty(await admin.InvokeAsync<List<JsonElement>>("GetChatHistory", channel));
    }

    [Fact]
    public async Task Only_an_admin_can_clear_a_channels_streamer_and_a_refused_clear_changes_nothing()
    {
        var channel = TestEvents.NewChannel();
        var (streamerId, modId) = (Guid.NewGuid(), Guid.NewGuid());
        await NameStreamerAsync(channel, streamerId, "name");
        await using var streamer = await stack.ConnectAsync(streamerId, AuthenticationDefaults.Roles.Streamer);
        await streamer.InvokeAsync("AddModerator", channel, modId);
        await using var demoted = await stack.ConnectAsync(streamerId, AuthenticationDefaults.Roles.Player);
        await using var moderator = await stack.ConnectAsync(modId, toHostB: true);
        await using var player = await stack.ConnectAsync(Guid.NewGuid());
        await using var anonymous = await stack.ConnectAsync();

        Assert.Equal("admin-only", await RefusedAsync(() => streamer.InvokeAsync("ClearChannelStreamer", channel)));
        Assert.Equal("admin-only", await RefusedAsync(() => demoted.InvokeAsync("ClearChannelStreamer", channel)));
        Assert.Equal("admin-only", await RefusedAsync(() => moderator.InvokeAsync("ClearChannelStreamer", channel)));
        Assert.Equal("admin-only", await RefusedAsync(() => player.InvokeAsync("ClearChannelStreamer", channel)));
        Assert.Equal("sign-in-required", await RefusedAsync(() => anonymous.InvokeAsync("ClearChannelStreamer", channel)));

        Assert.True((await streamer.InvokeAsync<Permissions>("GetChatPermissions", channel)).CanManageModerators);
        Assert.Equal([modId], await streamer.InvokeAsync<List<Guid>>("GetModerators", channel));
        Assert.True((await moderator.InvokeAsync<Permissions>("GetChatPermissions", channel)).CanModerate);
    }

    [Theory]
    [InlineData("claim")]
    [InlineData("live")]
    public async Task A_later_claim_or_go_live_does_not_name_a_cleared_streamer_again_but_a_link_or_an_admin_does(string namedBy)
    {
        var channel = TestEvents.NewChannel();
        var (demotedId, chosenId, ownerId) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        await NameStreamerAsync(channel, demotedId, namedBy);
        await using var admin = await stack.ConnectAsync(Guid.NewGuid(), AuthenticationDefaults.Roles.Admin);
        await admin.InvokeAsync("ClearChannelStreamer", channel);

        // The same route that named them, as their channel's next pool or stream would, after the clear.
        await NamedAgainAsync(channel, demotedId, namedBy);

        await using var promoted = await stack.ConnectAsync(demotedId, AuthenticationDefaults.Roles.Streamer, toHostB: true);
        Assert.False((await promoted.InvokeAsync<Permissions>("GetChatPermissions", channel)).CanModerate);
        await admin.InvokeAsync("BanUser", channel, demotedId);
        // An admin names a streamer again, and the channel's next link change in Pools replaces that as ever.
        await admin.InvokeAsync("SetChannelStreamer", channel, chosenId);
        await using var chosen = await stack.ConnectAsync(chosenId, AuthenticationDefaults.Roles.Streamer);
        Assert.True((await chosen.InvokeAsync<Permissions>("GetChatPermissions", channel)).CanManageModerators);
        await stack.Bus.PublishAsync(TestEvents.OwnerChanged(channel, ownerId, null, version: 1));
        await using var owner = await stack.ConnectAsync(ownerId, AuthenticationDefaults.Roles.Streamer);
        Assert.True(await Eventually.HoldsAsync(
            async () => (await owner.InvokeAsync<Permissions>("GetChatPermissions", channel)).CanManageModerators, TimeSpan.FromSeconds(20)),
            "the channel's first link in Pools did not name its owner after the clear");
    }

    /// <summary>
    /// Sends the user's claim (a pool of theirs) or go-live for the channel again and waits until Realtime has handled it:
    /// the pool's push follows its claim; a go-live pushes nothing, so its bus entry is waited for until Realtime's
    /// consumer group has read and acknowledged it.
    /// </summary>
    private async Task NamedAgainAsync(string channel, Guid userId, string namedBy)
    {
        if (namedBy == "claim")
        {
            await using var watcher = await stack.ConnectAsync();
            await watcher.InvokeAsync("WatchChannel", channel);
            await stack.Bus.PublishAsync(TestEvents.Created(Guid.NewGuid(), channel, userId));
            await watcher.WaitForAsync("PoolCreated");
            return;
        }
        var goLives = await GoLivesAsync(channel);
        await stack.Bus.PublishAsync(TestEvents.WentLive(channel, userId));
        var group = stack.ServicesA.GetRequiredService<EventBusOptions>().ServiceName;
        var redis = stack.ServicesA.GetRequiredService<IConnectionMultiplexer>().GetDatabase();
        Assert.True(await Eventually.HoldsAsync(async () =>
        {
            var entries = await GoLivesAsync(channel);
            if (entries.Count <= goLives.Count)
            {
                return false;
            }
            var (stream, id) = entries[^1];
            var read = (await redis.StreamGroupInfoAsync(stream)).SingleOrDefault(g => g.Name == group);
            return read.LastDeliveredId is { } delivered && Position(delivered).CompareTo(Position(id!)) >= 0
                && (await redis.StreamPendingMessagesAsync(stream, group, 10, RedisValue.Null, id, id)).Length == 0;
        }, TimeSpan.FromSeconds(20)), "Realtime never handled the go-live");

        static (long Milliseconds, long Sequence) Position(string id) => (long.Parse(id[..id.IndexOf('-')]), long.Parse(id[(id.IndexOf('-') + 1)..]));
    }

    /// <summary>The bus entries of the channel's go-lives, oldest first: one channel's events share one partition stream of the integration topic.</summary>
    private async Task<List<(RedisKey Stream, string? Id)>> GoLivesAsync(string channel)
    {
        var bus = stack.ServicesA.GetRequiredService<RedisStreamsOptions>();
        var redis = stack.ServicesA.GetRequiredService<IConnectionMultiplexer>().GetDatabase();
        var channelId = channel[(channel.IndexOf(':') + 1)..];
        var found = new List<(RedisKey, string?)>();
        for (var partition = 0; partition < bus.PartitionsPerTopic; partition++)
        {
            RedisKey stream = $"{bus.KeyPrefix}:{IntegrationTopics.Integration}:{partition}";
            found.AddRange((await redis.StreamRangeAsync(stream))
                .Where(e => e.Values.Any(v => v.Value.ToString().Contains(channelId, StringComparison.Ordinal)))
                .Select(e => (stream, (string?)e.Id.ToString())));
        }
        return found;
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
