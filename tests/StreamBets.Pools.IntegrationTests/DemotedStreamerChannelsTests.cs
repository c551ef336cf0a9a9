using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Pools.IntegrationEvents.EventHandling;

namespace StreamBets.Pools.IntegrationTests;

/// <summary>
/// A streamer demoted by an operator (Users' UserRoleChanged) loses every channel linked to them before the change,
/// exactly as an operator's unlink takes one: Realtime's chat powers and the open pools follow the link. A link made
/// more than the clocks' allowance after the change stays, and neither a repeated event nor a promotion back changes any link.
/// </summary>
public sealed class DemotedStreamerChannelsTests(PoolsApp app) : IClassFixture<PoolsApp>
{
    private const string RoleChanged = "streambets.users.role-changed.v1";
    private const string OwnerChanged = "streambets.pools.channel-owner-changed.v1";

    [Fact]
    public async Task A_demoted_streamer_loses_the_channels_linked_before_the_change_and_each_unlink_is_published()
    {
        using var streamer = app.NewStreamer(out var streamerId); // links each channel it opens a pool on
        var otherId = Guid.NewGuid();
        using var admin = app.Admin();
        var (first, second, others, later) = (Requests.NewChannel(), Requests.NewChannel(), Requests.NewChannel(), Requests.NewChannel());
        var open = await streamer.CreatePoolAsync(Requests.Pool(first));
        await LinkAsync(admin, others, otherId);
        var changedAt = app.Clock.GetUtcNow();
        // Linked just before the demotion, by Pools' clock 2 s ahead of the one that stamped it.
        app.Clock.Advance(TimeSpan.FromSeconds(2));
        await LinkAsync(admin, second, streamerId);
        // Promoted again and relinked by an operator before Pools hears of the demotion.
        app.Clock.Advance(DemotedStreamerChannelsHandler.ClockSkewAllowance);
        await LinkAsync(admin, later, streamerId);

        await app.PublishAsync(new UserRoleChanged(streamerId, "player", "streamer", changedAt));
        await HandledAsync(streamerId, count: 1);

        Assert.Equal([$"twitch:{later}"], await ChannelsOfAsync(admin, streamerId));
        Assert.Equal([$"twitch:{others}"], await ChannelsOfAsync(admin, otherId));
        foreach (var channel in new[] { first, second })
        {
            var events = await app.EventsAsync($"twitch:{channel}");
            Assert.Equal([OwnerChanged, OwnerChanged], events.Select(e => e.Type));
            Assert.Equal((null, streamerId), (OwnerOf(events[1], "ownerId"), OwnerOf(events[1], "previousOwnerId")));
            // Written with the inbox row, so the event's handling and its unlinks commit together.
            Assert.Equal(await InboxTransactionAsync(streamerId), events[1].TxId & uint.MaxValue);

            var change = (await admin.GetFromJsonAsync<ChangePageJson>("/api/pools/admin/changes?limit=100"))!.Items.First(c => c.Subject == $"twitch:{channel}");
            Assert.Equal(("channel-unlinked", Guid.Empty, "system"), (change.Action, change.AdminId, change.AdminName));
            Assert.Equal((streamerId, "role changed to player"),
                (change.Details.GetProperty("ownerId").GetGuid(), change.Details.GetProperty("reason").GetString()));
            Assert.Contains(app.AuditLog.Lines, line => line == $"Channel twitch:{channel} unlinked from {streamerId}: their role changed to player");
        }
        Assert.Single(await app.EventsAsync($"twitch:{later}"));
        Assert.Single(await app.EventsAsync($"twitch:{others}"));
        // The open pool is no longer theirs to run, as after an operator's unlink.
        Assert.Equal("https://streambets.dev/problems/not-pool-owner", (await (await streamer.PostAsync($"/api/pools/{open.Id}/lock", null)).ProblemAsync()).Type);
    }

    [Fact]
    public async Task A_demotion_sent_again_or_a_promotion_back_changes_no_link()
    {
        var (streamerId, channel, relinked) = (Guid.NewGuid(), Requests.NewChannel(), Requests.NewChannel());
        using var admin = app.Admin();
        await LinkAsync(admin, channel, streamerId);
        var demotedAt = app.Clock.GetUtcNow();
        var demotion = new UserRoleChanged(streamerId, "player", "streamer", demotedAt);
        await app.PublishAsync(demotion);
        await HandledAsync(streamerId, count: 1);
        Assert.Empty(await ChannelsOfAsync(admin, streamerId));

        app.Clock.Advance(TimeSpan.FromSeconds(1));
        await app.PublishAsync(new UserRoleChanged(streamerId, "streamer", "player", app.Clock.GetUtcNow()));
        await HandledAsync(streamerId, count: 2);
        Assert.Empty(await ChannelsOfAsync(admin, streamerId)); // promotion links nothing back
        app.Clock.Advance(DemotedStreamerChannelsHandler.ClockSkewAllowance + TimeSpan.FromSeconds(1));
        await LinkAsync(admin, relinked, streamerId);
        await LinkAsync(admin, channel, streamerId);
        // The same demotion again (a copy: the inbox already drops a redelivery of the same event id).
        await app.PublishAsync(demotion);
        await HandledAsync(streamerId, count: 3);

        Assert.Equal(new[] { $"twitch:{channel}", $"twitch:{relinked}" }.Order(), await ChannelsOfAsync(admin, streamerId));
        Assert.Equal([(streamerId, null), (null, streamerId), (streamerId, null)],
            (await app.EventsAsync($"twitch:{channel}")).Select(e => (OwnerOf(e, "ownerId"), OwnerOf(e, "previousOwnerId"))));
        var changes = (await admin.GetFromJsonAsync<ChangePageJson>("/api/pools/admin/changes?limit=100"))!.Items.Where(c => c.Subject == $"twitch:{channel}");
        Assert.Equal(["channel-linked", "channel-unlinked", "channel-linked"], changes.Select(c => c.Action));
    }

    private static async Task LinkAsync(HttpClient admin, string channel, Guid ownerId) =>
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/api/pools/admin/channels/twitch/{channel}", new { ownerId })).StatusCode);

    private static async Task<string[]> ChannelsOfAsync(HttpClient admin, Guid ownerId) =>
        [.. (await admin.GetFromJsonAsync<ChannelLinkJson[]>($"/api/pools/admin/channels?ownerId={ownerId}"))!.Select(l => $"{l.Channel.Provider}:{l.Channel.ChannelId}")];

    /// <summary>Waits until this service has handled <paramref name="count"/> role changes of the user.</summary>
    private async Task HandledAsync(Guid userId, int count) =>
        Assert.True(await PoolsApp.EventuallyAsync(async () => await InboxOfRoleChangesAsync<long>("count(*)", userId) == count),
            $"Not {count} role changes of {userId} were handled.");

    /// <summary>The transaction that wrote the inbox row of the user's (one) role change.</summary>
    private Task<long> InboxTransactionAsync(Guid userId) => InboxOfRoleChangesAsync<long>("xmin::text::bigint", userId);

    private Task<T?> InboxOfRoleChangesAsync<T>(string select, Guid userId) => app.ScalarAsync<T>($"""
        SELECT {select} FROM inbox WHERE event_id IN (
            SELECT (envelope->>'id')::uuid FROM test_outbox_audit WHERE event_type = '{RoleChanged}' AND partition_key = $1)
        """, userId.ToString());

    private static Guid? OwnerOf(AuditedEvent @event, string property) =>
        @event.Data.TryGetProperty(property, out var value) && value.ValueKind != JsonValueKind.Null ? value.GetGuid() : null;
}
