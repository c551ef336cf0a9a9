using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using StreamBets.Realtime.Live;
using StreamBets.Testing;

namespace StreamBets.Realtime.Tests;

/// <summary>
/// The channel's chat streamer follows Pools' channel links (ChannelOwnerChanged): a moved channel's new owner takes it
/// without the old owner's moderators, an unlinked channel has no streamer, an older change arriving late changes
/// nothing, and an admin's pool never makes the admin the streamer.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class ChannelOwnerTests(RealtimeStack stack)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private sealed record Permissions(bool CanChat, bool CanModerate, bool CanManageModerators, bool Banned, int MutedForSeconds);

    /// <summary>A channel whose streamer A created its first pool (PoolCreated through the bus), which made A its streamer.</summary>
    private async Task<(string Channel, LiveClient First, Guid FirstId)> ChannelOfFirstStreamerAsync()
    {
        var channel = TestEvents.NewChannel();
        var firstId = Guid.NewGuid();
        var first = await stack.ConnectAsync(firstId, AuthenticationDefaults.Roles.Streamer);
        await first.InvokeAsync("WatchChannel", channel);
        await stack.Bus.PublishAsync(TestEvents.Created(Guid.NewGuid(), channel, firstId));
        await first.WaitForAsync("PoolCreated");
        Assert.True((await first.InvokeAsync<Permissions>("GetChatPermissions", channel)).CanManageModerators);
        return (channel, first, firstId);
    }

    private static Task<bool> EventuallyAsync(LiveClient client, string channel, Func<Permissions, bool> holds) =>
        Eventually.HoldsAsync(async () => holds(await client.InvokeAsync<Permissions>("GetChatPermissions", channel)), Patience);

    /// <summary>Waits until Realtime has applied the channel's owner change of this version (or a later one).</summary>
    private Task<bool> OwnerVersionAppliedAsync(string channel, long version)
    {
        var keys = stack.ServicesA.GetRequiredService<RealtimeKeys>();
        var redis = stack.ServicesA.GetRequiredService<IConnectionMultiplexer>().GetDatabase();
        return Eventually.HoldsAsync(async () => (long?)await redis.StringGetAsync(keys.StreamerOwnerVersion(channel)) >= version, Patience);
    }

    [Fact]
    public async Task A_channel_moved_to_another_streamer_is_theirs_in_chat_without_the_previous_owners_moderators()
    {
        var (channel, first, firstId) = await ChannelOfFirstStreamerAsync();
        await using var disposeFirst = first;
        var (friendId, secondId, viewerId) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        await first.InvokeAsync("AddModerator", channel, friendId);
        await using var friend = await stack.ConnectAsync(friendId, toHostB: true);
        await using var second = await stack.ConnectAsync(secondId, AuthenticationDefaults.Roles.Streamer);

        // An admin moves the channel to the second streamer.
        await stack.Bus.PublishAsync(TestEvents.OwnerChanged(channel, secondId, firstId, version: 2));

        Assert.True(await EventuallyAsync(second, channel, p => p.CanManageModerators), "the new owner never became the channel's streamer");
        Assert.Empty(await second.InvokeAsync<List<Guid>>("GetModerators", channel));
        Assert.False((await first.InvokeAsync<Permissions>("GetChatPermissions", channel)).CanModerate);
        Assert.Equal("not-the-streamer", Refusal.Code(await Assert.ThrowsAsync<HubException>(() => first.InvokeAsync("AddModerator", channel, viewerId))));
        Assert.Equal("not-a-moderator", Refusal.Code(await Assert.ThrowsAsync<HubException>(() => first.InvokeAsync("BanUser", channel, viewerId))));
        Assert.False((await friend.InvokeAsync<Permissions>("GetChatPermissions", channel)).CanModerate);
        Assert.Equal("not-a-moderator", Refusal.Code(await Assert.ThrowsAsync<HubException>(() => friend.InvokeAsync("MuteUser", channel, viewerId, 60))));
        // The old owner cannot silence the new one's chat either, and the new owner appoints their own moderators.
        await second.InvokeAsync("AddModerator", channel, viewerId);
        Assert.Equal([viewerId], await second.InvokeAsync<List<Guid>>("GetModerators", channel));
    }

    [Fact]
    public async Task An_older_owner_change_arriving_after_a_newer_one_changes_nothing()
    {
        var (channel, first, firstId) = await ChannelOfFirstStreamerAsync();
        await using var disposeFirst = first;
        var (secondId, friendId) = (Guid.NewGuid(), Guid.NewGuid());
        await using var second = await stack.ConnectAsync(secondId, AuthenticationDefaults.Roles.Streamer);
        await stack.Bus.PublishAsync(TestEvents.OwnerChanged(channel, secondId, firstId, version: 2));
        Assert.True(await EventuallyAsync(second, channel, p => p.CanManageModerators), "the new owner never became the channel's streamer");
        await second.InvokeAsync("AddModerator", channel, friendId);

        // The first link (to the first streamer) comes again, late; then the second streamer's link is saved again. One
        // channel's changes arrive in order, so once the latter is applied the late one has been handled.
        await stack.Bus.PublishAsync(
            TestEvents.OwnerChanged(channel, firstId, null, version: 1),
            TestEvents.OwnerChanged(channel, secondId, secondId, version: 3));
        Assert.True(await OwnerVersionAppliedAsync(channel, 3), "the later change was never applied");

        // Had the old link been applied, the first streamer would have held the channel in between and emptied its moderators.
        Assert.True((await second.InvokeAsync<Permissions>("GetChatPermissions", channel)).CanManageModerators);
        Assert.Equal([friendId], await second.InvokeAsync<List<Guid>>("GetModerators", channel));
        Assert.False((await first.InvokeAsync<Permissions>("GetChatPermissions", channel)).CanModerate);
    }

    [Fact]
    public async Task An_unlinked_channel_has_no_streamer_and_the_previous_owners_late_pools_do_not_give_it_back()
    {
        var (channel, first, firstId) = await ChannelOfFirstStreamerAsync();
        await using var disposeFirst = first;
        var (friendId, trollId) = (Guid.NewGuid(), Guid.NewGuid());
        await first.InvokeAsync("AddModerator", channel, friendId);
        await first.InvokeAsync("BanUser", channel, trollId);
        await using var friend = await stack.ConnectAsync(friendId, toHostB: true);
        await using var troll = await stack.ConnectAsync(trollId);
        await using var admin = await stack.ConnectAsync(Guid.NewGuid(), AuthenticationDefaults.Roles.Admin);

        await stack.Bus.PublishAsync(TestEvents.OwnerChanged(channel, null, firstId, version: 1));

        Assert.True(await EventuallyAsync(first, channel, p => !p.CanModerate), "the unlinked owner kept moderating the channel");
        Assert.Equal("not-the-streamer", Refusal.Code(await Assert.ThrowsAsync<HubException>(() => first.InvokeAsync("GetModerators", channel))));
        Assert.False((await friend.InvokeAsync<Permissions>("GetChatPermissions", channel)).CanModerate);
        Assert.Empty(await admin.InvokeAsync<List<Guid>>("GetModerators", channel));
        // Bans stay (they protect the viewers), and admins still moderate.
        Assert.True((await troll.InvokeAsync<Permissions>("GetChatPermissions", channel)).Banned);
        await admin.InvokeAsync("UnbanUser", channel, trollId);

        // A pool the first streamer created before the unlink, delivered late, does not make them the streamer again.
        await stack.Bus.PublishAsync(TestEvents.Created(Guid.NewGuid(), channel, firstId));
        await first.WaitForCountAsync("PoolCreated", 2);
        Assert.False((await first.InvokeAsync<Permissions>("GetChatPermissions", channel)).CanModerate);
    }

    [Fact]
    public async Task An_admins_pool_never_makes_the_admin_the_streamer_and_names_the_channels_owner()
    {
        var (channel, adminId, ownerId) = (TestEvents.NewChannel(), Guid.NewGuid(), Guid.NewGuid());
        await using var owner = await stack.ConnectAsync(ownerId, AuthenticationDefaults.Roles.Streamer);
        await owner.InvokeAsync("WatchChannel", channel);

        // The channel's first pool, an admin's, while the channel is linked to nobody: nobody becomes the streamer.
        await stack.Bus.PublishAsync(TestEvents.Created(Guid.NewGuid(), channel, adminId, channelOwnerId: null));
        await owner.WaitForAsync("PoolCreated");
        // The next, an admin's too, once the channel is linked to the owner (from before links were published).
        await stack.Bus.PublishAsync(TestEvents.Created(Guid.NewGuid(), channel, adminId, channelOwnerId: ownerId));
        await owner.WaitForCountAsync("PoolCreated", 2);

        // Had the admin claimed the channel with the first pool, the owner could not have claimed it.
        Assert.True((await owner.InvokeAsync<Permissions>("GetChatPermissions", channel)).CanManageModerators);
        await owner.InvokeAsync("AddModerator", channel, Guid.NewGuid());
    }

    [Fact]
    public async Task An_admins_choice_of_streamer_lasts_until_the_channels_next_link_change()
    {
        var (channel, first, firstId) = await ChannelOfFirstStreamerAsync();
        await using var disposeFirst = first;
        var (secondId, chosenId, thirdId) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        await using var second = await stack.ConnectAsync(secondId, AuthenticationDefaults.Roles.Streamer);
        await using var chosen = await stack.ConnectAsync(chosenId, AuthenticationDefaults.Roles.Streamer, toHostB: true);
        await using var third = await stack.ConnectAsync(thirdId, AuthenticationDefaults.Roles.Streamer);
        await using var admin = await stack.ConnectAsync(Guid.NewGuid(), AuthenticationDefaults.Roles.Admin);
        await stack.Bus.PublishAsync(TestEvents.OwnerChanged(channel, secondId, firstId, version: 2));
        Assert.True(await EventuallyAsync(second, channel, p => p.CanManageModerators), "the new owner never became the channel's streamer");

        await admin.InvokeAsync("SetChannelStreamer", channel, chosenId);
        Assert.True((await chosen.InvokeAsync<Permissions>("GetChatPermissions", channel)).CanManageModerators);
        Assert.False((await second.InvokeAsync<Permissions>("GetChatPermissions", channel)).CanModerate);

        // The owner's next pool leaves the admin's pick (a pool claims only a channel Pools never named an owner for);
        // the channel's next link change replaces it.
        await stack.Bus.PublishAsync(TestEvents.Created(Guid.NewGuid(), channel, secondId));
        await first.WaitForCountAsync("PoolCreated", 2);
        Assert.True((await chosen.InvokeAsync<Permissions>("GetChatPermissions", channel)).CanManageModerators);
        await stack.Bus.PublishAsync(TestEvents.OwnerChanged(channel, thirdId, secondId, version: 3));
        Assert.True(await EventuallyAsync(third, channel, p => p.CanManageModerators), "the next link change did not replace the admin's choice");
        Assert.False((await chosen.InvokeAsync<Permissions>("GetChatPermissions", channel)).CanModerate);
    }
}
