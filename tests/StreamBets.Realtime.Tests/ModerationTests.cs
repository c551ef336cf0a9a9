using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using StreamBets.Realtime.Chat;
using StreamBets.Realtime.Hubs;
using StreamBets.Realtime.Live;

namespace StreamBets.Realtime.Tests;

[Collection(StackCollection.Name)]
public sealed class ModerationTests(RealtimeStack stack)
{
    private sealed record Permissions(bool CanChat, bool CanModerate, bool CanManageModerators, bool Banned, int MutedForSeconds);

    /// <summary>A channel whose first pool the streamer created (PoolCreated through the bus), which makes them its streamer.</summary>
    private async Task<(string Channel, LiveClient Streamer, Guid StreamerId)> ChannelWithStreamerAsync()
    {
        var channel = TestEvents.NewChannel();
        var streamerId = Guid.NewGuid();
        var streamer = await stack.ConnectAsync(streamerId, AuthenticationDefaults.Roles.Streamer);
        await streamer.InvokeAsync("WatchChannel", channel);
        await stack.Bus.PublishAsync(TestEvents.Created(Guid.NewGuid(), channel, streamerId));
        await streamer.WaitForAsync("PoolCreated");
        return (channel, streamer, streamerId);
    }

    [Fact]
    public async Task The_streamer_deletes_a_message_for_everyone_and_for_late_joiners()
    {
        var (channel, streamer, _) = await ChannelWithStreamerAsync();
        await using var disposeStreamer = streamer;
        await using var viewer = await stack.ConnectAsync(toHostB: true);
        await viewer.InvokeAsync("WatchChannel", channel);
        await using var troll = await stack.ConnectAsync(Guid.NewGuid());
        var rude = await troll.InvokeAsync<JsonElement>("SendChat", channel, "something rude");
        await troll.InvokeAsync<JsonElement>("SendChat", channel, "something fine");

        await streamer.InvokeAsync("DeleteChatMessage", channel, rude.Text("id"));

        var deleted = await viewer.WaitForAsync("ChatMessageDeleted");
        Assert.Equal(rude.Text("id"), deleted.Text("id"));
        Assert.True(deleted.Number("sequence") > rude.Number("sequence"));
        var history = await viewer.InvokeAsync<List<JsonElement>>("GetChatHistory", channel);
        Assert.Equal(["something fine"], history.Select(m => m.Text("text")));
    }

    [Fact]
    public async Task A_deleted_message_cannot_be_read_back_through_catch_up()
    {
        var (channel, streamer, _) = await ChannelWithStreamerAsync();
        await using var disposeStreamer = streamer;
        await using var troll = await stack.ConnectAsync(Guid.NewGuid());
        var rude = await troll.InvokeAsync<JsonElement>("SendChat", channel, "something rude");
        await troll.InvokeAsync<JsonElement>("SendChat", channel, "something fine");

        await streamer.InvokeAsync("DeleteChatMessage", channel, rude.Text("id"));

        await using var anonymous = await stack.ConnectAsync(toHostB: true);
        var replay = await anonymous.InvokeAsync<List<JsonElement>>("CatchUp", $"channel:{channel}", 0L);
        var payloads = replay.Select(m => m.GetProperty("payload")).ToList();
        Assert.DoesNotContain(payloads, p => p.GetRawText().Contains("something rude", StringComparison.Ordinal));
        Assert.Contains(payloads, p => p.TryGetProperty("text", out var text) && text.GetString() == "something fine");
        // The numbers stay without holes, so catching up still tells a gap from a deletion; where the message was, its deletion notice is.
        Assert.Equal(Enumerable.Range(1, payloads.Count).Select(i => (long)i), payloads.Select(p => p.Number("sequence")));
        Assert.Equal(["ChatMessageDeleted", "ChatMessageDeleted"],
            replay.Where(m => m.GetProperty("payload").TryGetProperty("id", out var id) && id.GetString() == rude.Text("id")).Select(m => m.GetProperty("type").GetString()));
    }

    [Fact]
    public async Task A_muted_user_cannot_chat_until_unmuted_and_a_banned_user_until_unbanned()
    {
        var (channel, streamer, _) = await ChannelWithStreamerAsync();
        await using var disposeStreamer = streamer;
        var (mutedId, bannedId) = (Guid.NewGuid(), Guid.NewGuid());
        await using var muted = await stack.ConnectAsync(mutedId);
        await using var banned = await stack.ConnectAsync(bannedId, toHostB: true);

        await streamer.InvokeAsync("MuteUser", channel, mutedId, 600);
        await streamer.InvokeAsync("BanUser", channel, bannedId);

        var mutedRefusal = await Assert.ThrowsAsync<HubException>(() => muted.InvokeAsync<JsonElement>("SendChat", channel, "hello?"));
        var bannedRefusal = await Assert.ThrowsAsync<HubException>(() => banned.InvokeAsync<JsonElement>("SendChat", channel, "hello?"));
        Assert.Equal("muted", Refusal.Code(mutedRefusal));
        Assert.Contains("more seconds", mutedRefusal.Message, StringComparison.Ordinal);
        Assert.Equal("banned", Refusal.Code(bannedRefusal));
        var bannedSees = await banned.InvokeAsync<Permissions>("GetChatPermissions", channel);
        Assert.False(bannedSees.CanChat);
        Assert.True(bannedSees.Banned);
        Assert.InRange((await muted.InvokeAsync<Permissions>("GetChatPermissions", channel)).MutedForSeconds, 1, 600);
        // Elsewhere they are free to talk.
        await muted.InvokeAsync<JsonElement>("SendChat", TestEvents.NewChannel(), "other channel");

        await streamer.InvokeAsync("UnmuteUser", channel, mutedId);
        await streamer.InvokeAsync("UnbanUser", channel, bannedId);

        await muted.InvokeAsync<JsonElement>("SendChat", channel, "back");
        await banned.InvokeAsync<JsonElement>("SendChat", channel, "back too");
    }

    [Fact]
    public async Task Viewers_cannot_moderate_and_nobody_can_silence_the_streamer()
    {
        var (channel, streamer, streamerId) = await ChannelWithStreamerAsync();
        await using var disposeStreamer = streamer;
        var viewerId = Guid.NewGuid();
        await using var viewer = await stack.ConnectAsync(viewerId);
        var message = await streamer.InvokeAsync<JsonElement>("SendChat", channel, "welcome");

        var delete = await Assert.ThrowsAsync<HubException>(() => viewer.InvokeAsync("DeleteChatMessage", channel, message.Text("id")));
        var ban = await Assert.ThrowsAsync<HubException>(() => viewer.InvokeAsync("BanUser", channel, streamerId));
        var addModerator = await Assert.ThrowsAsync<HubException>(() => viewer.InvokeAsync("AddModerator", channel, viewerId));
        var banStreamer = await Assert.ThrowsAsync<HubException>(() => streamer.InvokeAsync("BanUser", channel, streamerId));
        await using var anonymous = await stack.ConnectAsync();
        var anonymousMute = await Assert.ThrowsAsync<HubException>(() => anonymous.InvokeAsync("MuteUser", channel, viewerId, 60));

        Assert.Equal("not-a-moderator", Refusal.Code(delete));
        Assert.Equal("not-a-moderator", Refusal.Code(ban));
        Assert.Equal("not-the-streamer", Refusal.Code(addModerator));
        Assert.Equal("cannot-moderate-user", Refusal.Code(banStreamer));
        Assert.Equal("sign-in-required", Refusal.Code(anonymousMute));
        Assert.Single(await viewer.InvokeAsync<List<JsonElement>>("GetChatHistory", channel));
        Assert.False((await viewer.InvokeAsync<Permissions>("GetChatPermissions", channel)).CanModerate);
    }

    [Fact]
    public async Task A_moderator_the_streamer_appoints_can_ban_viewers_but_not_other_moderators()
    {
        var (channel, streamer, _) = await ChannelWithStreamerAsync();
        await using var disposeStreamer = streamer;
        var (modId, otherModId, viewerId) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        await streamer.InvokeAsync("AddModerator", channel, modId);
        await streamer.InvokeAsync("AddModerator", channel, otherModId);
        await using var moderator = await stack.ConnectAsync(modId, toHostB: true);
        await using var viewer = await stack.ConnectAsync(viewerId);

        await moderator.InvokeAsync("BanUser", channel, viewerId);
        var banModerator = await Assert.ThrowsAsync<HubException>(() => moderator.InvokeAsync("BanUser", channel, otherModId));
        var manage = await Assert.ThrowsAsync<HubException>(() => moderator.InvokeAsync("RemoveModerator", channel, otherModId));

        Assert.Equal("banned", Refusal.Code(await Assert.ThrowsAsync<HubException>(() => viewer.InvokeAsync<JsonElement>("SendChat", channel, "hi"))));
        Assert.Equal("cannot-moderate-user", Refusal.Code(banModerator));
        Assert.Equal("not-the-streamer", Refusal.Code(manage));
        Assert.Equal(new[] { modId, otherModId }.Order(), await streamer.InvokeAsync<List<Guid>>("GetModerators", channel));
        var permissions = await moderator.InvokeAsync<Permissions>("GetChatPermissions", channel);
        Assert.True(permissions.CanModerate);
        Assert.False(permissions.CanManageModerators);

        await streamer.InvokeAsync("RemoveModerator", channel, modId);
        Assert.Equal("not-a-moderator", Refusal.Code(await Assert.ThrowsAsync<HubException>(() => moderator.InvokeAsync("UnbanUser", channel, viewerId))));
    }

    [Fact]
    public async Task A_moderator_cannot_lift_their_own_mute_or_ban_and_a_banned_moderator_moderates_nothing()
    {
        var (channel, streamer, _) = await ChannelWithStreamerAsync();
        await using var disposeStreamer = streamer;
        var (modId, viewerId) = (Guid.NewGuid(), Guid.NewGuid());
        await streamer.InvokeAsync("AddModerator", channel, modId);
        await using var moderator = await stack.ConnectAsync(modId, toHostB: true);
        var message = await streamer.InvokeAsync<JsonElement>("SendChat", channel, "house rules");

        await streamer.InvokeAsync("MuteUser", channel, modId, 600);
        // Muted, the moderator moderates nothing, their own mute included.
        var unmuteSelf = await Assert.ThrowsAsync<HubException>(() => moderator.InvokeAsync("UnmuteUser", channel, modId));
        Assert.Equal("not-a-moderator", Refusal.Code(unmuteSelf));
        Assert.Equal("muted", Refusal.Code(await Assert.ThrowsAsync<HubException>(() => moderator.InvokeAsync<JsonElement>("SendChat", channel, "unmuted myself"))));

        await streamer.InvokeAsync("BanUser", channel, modId);
        Assert.Equal("not-a-moderator", Refusal.Code(await Assert.ThrowsAsync<HubException>(() => moderator.InvokeAsync("UnbanUser", channel, modId))));
        Assert.Equal("not-a-moderator", Refusal.Code(await Assert.ThrowsAsync<HubException>(() => moderator.InvokeAsync("DeleteChatMessage", channel, message.Text("id")))));
        Assert.Equal("not-a-moderator", Refusal.Code(await Assert.ThrowsAsync<HubException>(() => moderator.InvokeAsync("MuteUser", channel, viewerId, 60))));
        Assert.Equal("not-a-moderator", Refusal.Code(await Assert.ThrowsAsync<HubException>(() => moderator.InvokeAsync("BanUser", channel, viewerId))));
        Assert.False((await moderator.InvokeAsync<Permissions>("GetChatPermissions", channel)).CanModerate);
        Assert.Single(await moderator.InvokeAsync<List<JsonElement>>("GetChatHistory", channel));

        // The streamer lifts both: the moderator talks and moderates again.
        await streamer.InvokeAsync("UnbanUser", channel, modId);
        await streamer.InvokeAsync("UnmuteUser", channel, modId);
        await moderator.InvokeAsync<JsonElement>("SendChat", channel, "back");
        await moderator.InvokeAsync("MuteUser", channel, viewerId, 60);
    }

    [Fact]
    public async Task A_muted_moderator_moderates_nothing_until_the_mute_is_lifted()
    {
        var (channel, streamer, _) = await ChannelWithStreamerAsync();
        await using var disposeStreamer = streamer;
        var (modId, viewerId) = (Guid.NewGuid(), Guid.NewGuid());
        await streamer.InvokeAsync("AddModerator", channel, modId);
        await using var moderator = await stack.ConnectAsync(modId, toHostB: true);
        await using var viewer = await stack.ConnectAsync(viewerId);
        var message = await viewer.InvokeAsync<JsonElement>("SendChat", channel, "hello");

        await streamer.InvokeAsync("MuteUser", channel, modId, 600);

        Assert.Equal("not-a-moderator", Refusal.Code(await Assert.ThrowsAsync<HubException>(() => moderator.InvokeAsync("DeleteChatMessage", channel, message.Text("id")))));
        Assert.Equal("not-a-moderator", Refusal.Code(await Assert.ThrowsAsync<HubException>(() => moderator.InvokeAsync("MuteUser", channel, viewerId, 60))));
        Assert.Equal("not-a-moderator", Refusal.Code(await Assert.ThrowsAsync<HubException>(() => moderator.InvokeAsync("BanUser", channel, viewerId))));
        var permissions = await moderator.InvokeAsync<Permissions>("GetChatPermissions", channel);
        Assert.False(permissions.CanModerate);
        Assert.InRange(permissions.MutedForSeconds, 1, 600);
        Assert.Single(await viewer.InvokeAsync<List<JsonElement>>("GetChatHistory", channel));
        Assert.False((await viewer.InvokeAsync<Permissions>("GetChatPermissions", channel)).Banned);
        // Still on the list: the mute suspends the powers, it does not take the appointment away.
        Assert.Equal([modId], await streamer.InvokeAsync<List<Guid>>("GetModerators", channel));

        await streamer.InvokeAsync("UnmuteUser", channel, modId);
        await moderator.InvokeAsync("DeleteChatMessage", channel, message.Text("id"));
        Assert.Empty(await viewer.InvokeAsync<List<JsonElement>>("GetChatHistory", channel));
    }

    [Fact]
    public async Task Deleting_a_message_that_is_not_in_the_chat_is_refused_and_writes_nothing()
    {
        var (channel, streamer, _) = await ChannelWithStreamerAsync();
        await using var disposeStreamer = streamer;
        await using var troll = await stack.ConnectAsync(Guid.NewGuid());
        var rude = await troll.InvokeAsync<JsonElement>("SendChat", channel, "something rude");

        var madeUp = await Assert.ThrowsAsync<HubException>(() => streamer.InvokeAsync("DeleteChatMessage", channel, Guid.NewGuid()));
        await streamer.InvokeAsync("DeleteChatMessage", channel, rude.Text("id"));
        var again = await Assert.ThrowsAsync<HubException>(() => streamer.InvokeAsync("DeleteChatMessage", channel, rude.Text("id")));

        Assert.Equal("message-not-found", Refusal.Code(madeUp));
        Assert.Equal("message-not-found", Refusal.Code(again));
        // PoolCreated, the message (now its deletion notice) and the one notice that was pushed: nothing else was numbered.
        var replay = await streamer.InvokeAsync<List<JsonElement>>("CatchUp", $"channel:{channel}", 0L);
        Assert.Equal(["PoolCreated", "ChatMessageDeleted", "ChatMessageDeleted"], replay.Select(m => m.GetProperty("type").GetString()));
        Assert.Equal([1L, 2L, 3L], replay.Select(m => m.GetProperty("payload").Number("sequence")));
        await streamer.WaitForAsync("ChatMessageDeleted");
        await Task.Delay(300);
        Assert.Single(streamer.Received("ChatMessageDeleted"));
    }

    [Fact]
    public async Task Refused_sends_of_a_muted_or_banned_user_count_against_the_chat_rate_limit()
    {
        var (channel, streamer, _) = await ChannelWithStreamerAsync();
        await using var disposeStreamer = streamer;
        var (mutedId, bannedId) = (Guid.NewGuid(), Guid.NewGuid());
        await using var muted = await stack.ConnectAsync(mutedId);
        await using var banned = await stack.ConnectAsync(bannedId, toHostB: true);
        await streamer.InvokeAsync("MuteUser", channel, mutedId, 600);
        await streamer.InvokeAsync("BanUser", channel, bannedId);

        for (var i = 1; i <= 5; i++)
        {
            Assert.Equal("muted", Refusal.Code(await Assert.ThrowsAsync<HubException>(() => muted.InvokeAsync<JsonElement>("SendChat", channel, $"let me talk {i}"))));
            Assert.Equal("banned", Refusal.Code(await Assert.ThrowsAsync<HubException>(() => banned.InvokeAsync<JsonElement>("SendChat", channel, $"let me talk {i}"))));
        }
        var mutedSixth = await Assert.ThrowsAsync<HubException>(() => muted.InvokeAsync<JsonElement>("SendChat", channel, "let me talk 6"));
        var bannedSixth = await Assert.ThrowsAsync<HubException>(() => banned.InvokeAsync<JsonElement>("SendChat", channel, "let me talk 6"));

        Assert.Equal("rate-limited", Refusal.Code(mutedSixth));
        Assert.Equal("rate-limited", Refusal.Code(bannedSixth));
        Assert.Contains("Try again in", mutedSixth.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_moderator_cannot_lift_a_mute_or_ban_the_streamer_put_on_another_moderator()
    {
        var (channel, streamer, _) = await ChannelWithStreamerAsync();
        await using var disposeStreamer = streamer;
        var (modId, otherModId) = (Guid.NewGuid(), Guid.NewGuid());
        await streamer.InvokeAsync("AddModerator", channel, modId);
        await streamer.InvokeAsync("AddModerator", channel, otherModId);
        await using var moderator = await stack.ConnectAsync(modId, toHostB: true);
        await using var other = await stack.ConnectAsync(otherModId);

        await streamer.InvokeAsync("MuteUser", channel, otherModId, 600);
        var unmute = await Assert.ThrowsAsync<HubException>(() => moderator.InvokeAsync("UnmuteUser", channel, otherModId));
        await streamer.InvokeAsync("BanUser", channel, otherModId);
        // Banned, the other moderator has no powers, but is still a moderator to the first one.
        var unban = await Assert.ThrowsAsync<HubException>(() => moderator.InvokeAsync("UnbanUser", channel, otherModId));
        var mute = await Assert.ThrowsAsync<HubException>(() => moderator.InvokeAsync("MuteUser", channel, otherModId, 60));

        Assert.Equal("cannot-moderate-user", Refusal.Code(unmute));
        Assert.Equal("cannot-moderate-user", Refusal.Code(unban));
        Assert.Equal("cannot-moderate-user", Refusal.Code(mute));
        var permissions = await other.InvokeAsync<Permissions>("GetChatPermissions", channel);
        Assert.True(permissions.Banned);
        Assert.InRange(permissions.MutedForSeconds, 1, 600);
    }

    [Fact]
    public async Task A_new_streamer_starts_without_the_previous_streamers_moderators_and_their_bans_stay()
    {
        var (channel, firstCreator, firstCreatorId) = await ChannelWithStreamerAsync();
        await using var disposeFirstCreator = firstCreator;
        var (friendId, trollId, ownerId) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        await firstCreator.InvokeAsync("AddModerator", channel, friendId);
        await using var friend = await stack.ConnectAsync(friendId, toHostB: true);
        await using var troll = await stack.ConnectAsync(trollId);
        await friend.InvokeAsync("BanUser", channel, trollId);
        // The first creator's next pool keeps the channel and its moderators.
        await stack.Bus.PublishAsync(TestEvents.Created(Guid.NewGuid(), channel, firstCreatorId));
        await firstCreator.WaitForCountAsync("PoolCreated", 2);
        Assert.Equal([friendId], await firstCreator.InvokeAsync<List<Guid>>("GetModerators", channel));

        // The channel's owner links it and goes live.
        await using var owner = await stack.ConnectAsync(ownerId, AuthenticationDefaults.Roles.Streamer);
        await stack.Bus.PublishAsync(TestEvents.WentLive(channel, ownerId));
        Assert.True(await Testing.Eventually.HoldsAsync(
            async () => (await owner.InvokeAsync<Permissions>("GetChatPermissions", channel)).CanManageModerators, TimeSpan.FromSeconds(20)));

        Assert.Empty(await owner.InvokeAsync<List<Guid>>("GetModerators", channel));
        Assert.False((await friend.InvokeAsync<Permissions>("GetChatPermissions", channel)).CanModerate);
        Assert.Equal("not-a-moderator", Refusal.Code(await Assert.ThrowsAsync<HubException>(() => friend.InvokeAsync("MuteUser", channel, ownerId, 60))));
        Assert.Equal("not-a-moderator", Refusal.Code(await Assert.ThrowsAsync<HubException>(() => friend.InvokeAsync("UnbanUser", channel, trollId))));
        Assert.True((await troll.InvokeAsync<Permissions>("GetChatPermissions", channel)).Banned);
    }

    [Fact]
    public async Task An_admin_can_name_the_channels_streamer_instead_of_whoever_created_its_first_pool()
    {
        var (channel, firstCreator, firstCreatorId) = await ChannelWithStreamerAsync();
        await using var disposeFirstCreator = firstCreator;
        var realStreamerId = Guid.NewGuid();
        await using var realStreamer = await stack.ConnectAsync(realStreamerId, AuthenticationDefaults.Roles.Streamer);
        await using var admin = await stack.ConnectAsync(Guid.NewGuid(), AuthenticationDefaults.Roles.Admin);

        var notAdmin = await Assert.ThrowsAsync<HubException>(() => firstCreator.InvokeAsync("SetChannelStreamer", channel, firstCreatorId));
        await admin.InvokeAsync("SetChannelStreamer", channel, realStreamerId);

        Assert.Equal("admin-only", Refusal.Code(notAdmin));
        Assert.True((await realStreamer.InvokeAsync<Permissions>("GetChatPermissions", channel)).CanManageModerators);
        Assert.False((await firstCreator.InvokeAsync<Permissions>("GetChatPermissions", channel)).CanModerate);
    }

    [Fact]
    public async Task Deleting_messages_follows_the_ranks_and_a_moderator_may_delete_their_own()
    {
        var (channel, streamer, _) = await ChannelWithStreamerAsync();
        await using var disposeStreamer = streamer;
        var (modId, otherModId) = (Guid.NewGuid(), Guid.NewGuid());
        await streamer.InvokeAsync("AddModerator", channel, modId);
        await streamer.InvokeAsync("AddModerator", channel, otherModId);
        await using var moderator = await stack.ConnectAsync(modId, toHostB: true);
        await using var otherModerator = await stack.ConnectAsync(otherModId);
        await using var admin = await stack.ConnectAsync(Guid.NewGuid(), AuthenticationDefaults.Roles.Admin);
        await using var viewer = await stack.ConnectAsync(Guid.NewGuid());
        var fromStreamer = await streamer.InvokeAsync<JsonElement>("SendChat", channel, "house rules");
        var fromOtherModerator = await otherModerator.InvokeAsync<JsonElement>("SendChat", channel, "be nice");
        var fromAdmin = await admin.InvokeAsync<JsonElement>("SendChat", channel, "platform notice");
        var fromModerator = await moderator.InvokeAsync<JsonElement>("SendChat", channel, "typo");
        var fromViewer = await viewer.InvokeAsync<JsonElement>("SendChat", channel, "spam");

        foreach (var above in new[] { fromStreamer, fromOtherModerator, fromAdmin })
        {
            Assert.Equal("cannot-moderate-user", Refusal.Code(await Assert.ThrowsAsync<HubException>(() => moderator.InvokeAsync("DeleteChatMessage", channel, above.Text("id")))));
        }
        Assert.Equal("cannot-moderate-user", Refusal.Code(await Assert.ThrowsAsync<HubException>(() => streamer.InvokeAsync("DeleteChatMessage", channel, fromAdmin.Text("id")))));
        await moderator.InvokeAsync("DeleteChatMessage", channel, fromModerator.Text("id"));
        await moderator.InvokeAsync("DeleteChatMessage", channel, fromViewer.Text("id"));
        await streamer.InvokeAsync("DeleteChatMessage", channel, fromOtherModerator.Text("id"));

        var history = await viewer.InvokeAsync<List<JsonElement>>("GetChatHistory", channel);
        Assert.Equal(["house rules", "platform notice"], history.Select(m => m.Text("text")));
        await admin.InvokeAsync("DeleteChatMessage", channel, fromStreamer.Text("id"));
        // An admin deletes another admin's line too (a taken-over admin account posting scam links, say).
        await using var otherAdmin = await stack.ConnectAsync(Guid.NewGuid(), AuthenticationDefaults.Roles.Admin);
        await otherAdmin.InvokeAsync("DeleteChatMessage", channel, fromAdmin.Text("id"));
        Assert.Empty(await viewer.InvokeAsync<List<JsonElement>>("GetChatHistory", channel));
    }

    [Fact]
    public async Task Moderators_lose_their_powers_when_the_streamers_claim_runs_out()
    {
        var channel = TestEvents.NewChannel();
        var (streamerId, modId, viewerId) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        // Redis expires the claim (a key TTL, not the TimeProvider): long enough for the claim, the moderator and the first
        // check on a busy box, then polled until it has run out.
        var retention = TimeSpan.FromSeconds(10);
        var options = new RealtimeOptions { KeyPrefix = stack.KeyPrefix, Chat = { StreamerRetention = retention } };
        var chat = ActivatorUtilities.CreateInstance<ChatRoom>(stack.ServicesA, Options.Create(options));
        var moderator = new ChatUser(modId, "Mod", IsAdmin: false, IsStreamer: false);
        await chat.ClaimChannelAsync(channel, streamerId);
        await chat.AddModeratorAsync(channel, new ChatUser(streamerId, "Streamer", IsAdmin: false, IsStreamer: true), modId);
        Assert.True((await chat.PermissionsAsync(channel, moderator)).CanModerate);

        Assert.True(await Testing.Eventually.HoldsAsync(async () => !(await chat.PermissionsAsync(channel, moderator)).CanModerate, retention + TimeSpan.FromSeconds(10)),
            "The moderator kept their powers after the streamer's claim ran out.");
        Assert.Equal("not-a-moderator", (await Assert.ThrowsAsync<RefusedException>(() => chat.MuteAsync(channel, moderator, viewerId, 60))).Code);
        var redis = stack.ServicesA.GetRequiredService<IConnectionMultiplexer>().GetDatabase();
        Assert.False(await redis.KeyExistsAsync(stack.ServicesA.GetRequiredService<RealtimeKeys>().Moderators(channel)));
    }

    [Fact]
    public async Task An_admin_moderates_any_channel()
    {
        var channel = TestEvents.NewChannel(); // no pool yet, so no streamer
        var trollId = Guid.NewGuid();
        await using var troll = await stack.ConnectAsync(trollId);
        await using var admin = await stack.ConnectAsync(Guid.NewGuid(), AuthenticationDefaults.Roles.Admin, toHostB: true);
        var rude = await troll.InvokeAsync<JsonElement>("SendChat", channel, "spam");

        await admin.InvokeAsync("DeleteChatMessage", channel, rude.Text("id"));
        await admin.InvokeAsync("BanUser", channel, trollId);

        Assert.Empty(await admin.InvokeAsync<List<JsonElement>>("GetChatHistory", channel));
        Assert.Equal("banned", Refusal.Code(await Assert.ThrowsAsync<HubException>(() => troll.InvokeAsync<JsonElement>("SendChat", channel, "more spam"))));
    }
}
