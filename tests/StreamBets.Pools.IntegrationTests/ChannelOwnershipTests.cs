using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using StreamBets.Testing;

namespace StreamBets.Pools.IntegrationTests;

public sealed record ChannelLinkJson(ChannelJson Channel, Guid OwnerId, Guid LinkedBy, DateTimeOffset LinkedAt, Guid? PreviousOwnerId = null);

/// <summary>
/// A streamer opens pools only on channels linked to them: the streamer who opens a pool resolves it, so anyone else's
/// channel is off limits. Admins link and unlink channels (kept in the change history); admins open pools anywhere.
/// </summary>
public sealed class ChannelOwnershipTests(PoolsApp app) : IClassFixture<PoolsApp>
{
    private const string ChannelNotYours = "https://streambets.dev/problems/channel-not-yours";
    private const string NotPoolOwner = "https://streambets.dev/problems/not-pool-owner";
    private const string OwnerChanged = "streambets.pools.channel-owner-changed.v1";

    [Fact]
    public async Task A_streamer_opens_pools_only_on_a_channel_linked_to_them_and_an_admin_anywhere()
    {
        var (streamerId, otherId, adminId) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        using var streamer = app.ClientFor(streamerId, "streamer");
        using var other = app.ClientFor(otherId, "streamer");
        using var admin = app.ClientFor(adminId, "admin");
        var channel = Requests.NewChannel();

        var unlinked = await streamer.PostAsJsonAsync("/api/pools", Requests.Pool(channel));
        Assert.Equal(HttpStatusCode.Forbidden, unlinked.StatusCode);
        var problem = await unlinked.ProblemAsync();
        Assert.Equal(ChannelNotYours, problem.Type);
        Assert.Contains($"twitch:{channel}", problem.Detail);
        Assert.Empty((await streamer.GetFromJsonAsync<PoolJson[]>($"/api/pools/live?channel=twitch:{channel}"))!);

        var linked = await admin.PutAsJsonAsync($"/api/pools/admin/channels/twitch/{channel}", new { ownerId = streamerId });
        var link = (await linked.Content.ReadFromJsonAsync<ChannelLinkJson>())!;
        Assert.Equal(HttpStatusCode.OK, linked.StatusCode);
        Assert.Equal((new ChannelJson("twitch", channel), streamerId, adminId), (link.Channel, link.OwnerId, link.LinkedBy));

        var pool = await streamer.CreatePoolAsync(Requests.Pool(channel));
        Assert.Equal(streamerId, pool.CreatedBy);
        // The same channel on another platform is another channel.
        Assert.Equal(HttpStatusCode.Forbidden, (await streamer.PostAsJsonAsync("/api/pools", Requests.Pool(channel, provider: "kick"))).StatusCode);
        Assert.Equal(ChannelNotYours, (await (await other.PostAsJsonAsync("/api/pools", Requests.Pool(channel))).ProblemAsync()).Type);
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/pools", Requests.Pool(Requests.NewChannel()))).StatusCode);

        // Unlinked: no new pools there, and the streamer's open pool is no longer theirs to run; an admin's.
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/pools/admin/channels/twitch/{channel}?ownerId={streamerId}")).StatusCode);
        Assert.Equal(NotPoolOwner, (await (await streamer.PostAsync($"/api/pools/{pool.Id}/lock", null)).ProblemAsync()).Type);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/pools/{pool.Id}/lock", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsJsonAsync($"/api/pools/{pool.Id}/cancel", new { })).StatusCode);
        Assert.Equal(ChannelNotYours, (await (await streamer.PostAsJsonAsync("/api/pools", Requests.Pool(channel))).ProblemAsync()).Type);
    }

    [Fact]
    public async Task Linking_a_channel_again_moves_it_and_every_link_is_in_the_change_history()
    {
        var (firstId, secondId, adminId) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        using var first = app.ClientFor(firstId, "streamer");
        using var second = app.ClientFor(secondId, "streamer");
        using var admin = app.ClientFor(adminId, "admin");
        var channel = Requests.NewChannel();

        await admin.PutAsJsonAsync($"/api/pools/admin/channels/kick/{channel}", new { ownerId = firstId });
        Assert.Equal([$"kick:{channel}"], (await first.GetFromJsonAsync<ChannelLinkJson[]>("/api/pools/channels/mine"))!.Select(Name));
        await admin.PutAsJsonAsync($"/api/pools/admin/channels/kick/{channel}", new { ownerId = secondId });

        Assert.Empty((await first.GetFromJsonAsync<ChannelLinkJson[]>("/api/pools/channels/mine"))!);
        Assert.Equal([$"kick:{channel}"], (await admin.GetFromJsonAsync<ChannelLinkJson[]>($"/api/pools/admin/channels?ownerId={secondId}"))!.Select(Name));
        Assert.Equal(ChannelNotYours, (await (await first.PostAsJsonAsync("/api/pools", Requests.Pool(channel, provider: "kick"))).ProblemAsync()).Type);
        Assert.Equal(HttpStatusCode.Created, (await second.PostAsJsonAsync("/api/pools", Requests.Pool(channel, provider: "kick"))).StatusCode);

        var changes = (await admin.GetFromJsonAsync<ChangePageJson>("/api/pools/admin/changes?limit=100"))!.Items
            .Where(c => c.Subject == $"kick:{channel}").ToArray();
        Assert.Equal(["channel-linked", "channel-linked"], changes.Select(c => c.Action));
        Assert.All(changes, c => Assert.Equal(adminId, c.AdminId));
        // Newest first: the move names who had the channel before.
        Assert.Equal((secondId, firstId), (changes[0].Details.GetProperty("ownerId").GetGuid(), changes[0].Details.GetProperty("previousOwnerId").GetGuid()));
        Assert.Contains(app.AuditLog.Lines, line => line.Contains($"Admin {adminId} linked channel kick:{channel} to {secondId}"));
    }

    [Fact]
    public async Task An_unlink_takes_the_channel_only_from_the_owner_it_names_and_the_history_says_who_lost_it()
    {
        var (firstId, secondId, adminId) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        using var admin = app.ClientFor(adminId, "admin");
        var channel = Requests.NewChannel();
        await admin.PutAsJsonAsync($"/api/pools/admin/channels/kick/{channel}", new { ownerId = firstId });

        // An operator looks at the first streamer's channels; meanwhile another links the channel to a second streamer.
        var moved = (await (await admin.PutAsJsonAsync($"/api/pools/admin/channels/kick/{channel}", new { ownerId = secondId })).Content.ReadFromJsonAsync<ChannelLinkJson>())!;
        var stale = await admin.DeleteAsync($"/api/pools/admin/channels/kick/{channel}?ownerId={firstId}");

        Assert.Equal(HttpStatusCode.Conflict, stale.StatusCode);
        Assert.Equal((secondId, firstId), (moved.OwnerId, moved.PreviousOwnerId));
        var problem = await stale.ProblemAsync();
        Assert.Equal("https://streambets.dev/problems/channel-owner-changed", problem.Type);
        Assert.Contains(secondId.ToString(), problem.Detail);
        Assert.Equal([$"kick:{channel}"], (await admin.GetFromJsonAsync<ChannelLinkJson[]>($"/api/pools/admin/channels?ownerId={secondId}"))!.Select(Name));

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/pools/admin/channels/kick/{channel}?ownerId={secondId}")).StatusCode);
        var changes = (await admin.GetFromJsonAsync<ChangePageJson>("/api/pools/admin/changes?limit=100"))!.Items.Where(c => c.Subject == $"kick:{channel}").ToArray();
        Assert.Equal(["channel-unlinked", "channel-linked", "channel-linked"], changes.Select(c => c.Action));
        Assert.Equal(secondId, changes[0].Details.GetProperty("ownerId").GetGuid());
        Assert.Contains(app.AuditLog.Lines, line => line == $"Admin {adminId} unlinked channel kick:{channel} from {secondId}");
    }

    [Fact]
    public async Task A_link_whose_history_row_cannot_be_written_is_not_made()
    {
        var (streamerId, channel) = (Guid.NewGuid(), Requests.NewChannel());
        using var admin = app.Admin();
        // poolsdb refuses this channel's history row, as a full disk or a broken connection would.
        await using var refusal = await app.FailWritesAsync("INSERT", "admin_changes", $"NEW.subject = 'twitch:{channel}'", "history unavailable");

        var linked = await admin.PutAsJsonAsync($"/api/pools/admin/channels/twitch/{channel}", new { ownerId = streamerId });

        Assert.Equal(HttpStatusCode.InternalServerError, linked.StatusCode);
        Assert.DoesNotContain("history unavailable", await linked.Content.ReadAsStringAsync());
        Assert.Empty((await admin.GetFromJsonAsync<ChannelLinkJson[]>($"/api/pools/admin/channels?ownerId={streamerId}"))!);
        Assert.Empty(await app.EventsAsync($"twitch:{channel}"));
    }

    [Fact]
    public async Task Each_link_move_and_unlink_publishes_one_owner_change_in_its_own_transaction()
    {
        var (firstId, secondId, channel) = (Guid.NewGuid(), Guid.NewGuid(), Requests.NewChannel());
        using var admin = app.Admin();

        var linked = (await (await admin.PutAsJsonAsync($"/api/pools/admin/channels/kick/{channel}", new { ownerId = firstId })).Content.ReadFromJsonAsync<ChannelLinkJson>())!;
        await admin.PutAsJsonAsync($"/api/pools/admin/channels/kick/{channel}", new { ownerId = secondId });
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/pools/admin/channels/kick/{channel}?ownerId={secondId}")).StatusCode);

        var events = await app.EventsAsync($"kick:{channel}");
        Assert.Equal([OwnerChanged, OwnerChanged, OwnerChanged], events.Select(e => e.Type));
        Assert.Equal([(firstId, null), (secondId, firstId), (null, secondId)], events.Select(e => (OwnerOf(e, "ownerId"), OwnerOf(e, "previousOwnerId"))));
        Assert.All(events, e => Assert.Equal($"kick:{channel}", e.Data.GetProperty("channel").GetString()));
        Assert.Equal(linked.LinkedAt, events[0].Data.GetProperty("changedAt").GetDateTimeOffset());
        // Each change outranks the one before, so Realtime can drop an older change that arrives late.
        var versions = events.Select(e => e.Data.GetProperty("version").GetInt64()).ToArray();
        Assert.Equal(versions.Order(), versions);
        Assert.Equal(versions.Length, versions.Distinct().Count());
        // Written by the transaction that recorded the change (its history row), so the event exists if and only if the change does.
        var recordedBy = await app.ScalarAsync<long[]>(
            "SELECT array_agg(xmin::text::bigint ORDER BY id) FROM admin_changes WHERE subject = $1", $"kick:{channel}");
        Assert.Equal(recordedBy, events.Select(e => e.TxId & uint.MaxValue));
    }

    [Fact]
    public async Task A_refused_unlink_publishes_no_owner_change()
    {
        var (firstId, secondId, channel) = (Guid.NewGuid(), Guid.NewGuid(), Requests.NewChannel());
        using var admin = app.Admin();
        var nobodys = await admin.DeleteAsync($"/api/pools/admin/channels/kick/{channel}?ownerId={firstId}");
        await admin.PutAsJsonAsync($"/api/pools/admin/channels/kick/{channel}", new { ownerId = firstId });
        await admin.PutAsJsonAsync($"/api/pools/admin/channels/kick/{channel}", new { ownerId = secondId });

        // An operator unlinks the owner they saw, but the channel moved to a second streamer meanwhile.
        var stale = await admin.DeleteAsync($"/api/pools/admin/channels/kick/{channel}?ownerId={firstId}");

        Assert.Equal((HttpStatusCode.NotFound, HttpStatusCode.Conflict), (nobodys.StatusCode, stale.StatusCode));
        var events = await app.EventsAsync($"kick:{channel}");
        Assert.Equal([(firstId, null), (secondId, firstId)], events.Select(e => (OwnerOf(e, "ownerId"), OwnerOf(e, "previousOwnerId"))));
    }

    [Fact]
    public async Task A_pool_names_the_channels_owner_so_an_admins_pool_never_passes_for_the_streamers()
    {
        using var streamer = app.NewStreamer(out var streamerId);
        var adminId = Guid.NewGuid();
        using var admin = app.ClientFor(adminId, "admin");
        var (linked, unlinked) = (Requests.NewChannel(), Requests.NewChannel());
        var streamers = await streamer.CreatePoolAsync(Requests.Pool(linked));
        await streamer.ActAsync(streamers.Id, "cancel");

        var adminsOnLinked = await admin.CreatePoolAsync(Requests.Pool(linked));
        var adminsOnUnlinked = await admin.CreatePoolAsync(Requests.Pool(unlinked));

        var created = new List<JsonElement>();
        foreach (var pool in new[] { streamers, adminsOnLinked, adminsOnUnlinked })
        {
            created.Add((await app.EventsAsync(pool.Id)).Single(e => e.Type == "streambets.pools.created.v1").Data);
        }
        Assert.Equal([streamerId, adminId, adminId], created.Select(data => data.GetProperty("streamerId").GetGuid()));
        Assert.Equal([streamerId, streamerId, null], created.Select(data => GuidOrNull(data, "channelOwnerId")));
    }

    private static Guid? OwnerOf(AuditedEvent @event, string property) => GuidOrNull(@event.Data, property);

    private static Guid? GuidOrNull(JsonElement data, string property) =>
        data.TryGetProperty(property, out var value) && value.ValueKind != JsonValueKind.Null ? value.GetGuid() : null;

    [Fact]
    public async Task Linking_is_for_admins_and_a_bad_link_is_a_problem_naming_each_field()
    {
        using var admin = app.Admin();
        using var streamer = app.ClientFor(Guid.NewGuid(), "streamer");
        using var player = app.Player();
        var channel = Requests.NewChannel();

        Assert.Equal(HttpStatusCode.Forbidden, (await streamer.PutAsJsonAsync($"/api/pools/admin/channels/twitch/{channel}", new { ownerId = Guid.NewGuid() })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await streamer.GetAsync($"/api/pools/admin/channels?ownerId={Guid.NewGuid()}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await player.GetAsync("/api/pools/channels/mine")).StatusCode);

        var bad = await admin.PutAsJsonAsync("/api/pools/admin/channels/myspace/not%20a%20channel", new { });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal(["channel.channelId", "channel.provider", "ownerId"], (await bad.ProblemAsync()).Errors!.Keys.Order());
        foreach (var query in new[] { "", "?ownerId=nobody" })
        {
            var noOwner = await admin.GetAsync($"/api/pools/admin/channels{query}");
            Assert.Equal(HttpStatusCode.BadRequest, noOwner.StatusCode);
            Assert.Equal(["ownerId"], (await noOwner.ProblemAsync()).Errors!.Keys);
        }
        var notLinked = await admin.DeleteAsync($"/api/pools/admin/channels/twitch/{channel}?ownerId={Guid.NewGuid()}");
        Assert.Equal((HttpStatusCode.NotFound, "https://streambets.dev/problems/channel-not-linked"), (notLinked.StatusCode, (await notLinked.ProblemAsync()).Type));
        var noOwnerNamed = await admin.DeleteAsync($"/api/pools/admin/channels/twitch/{channel}");
        Assert.Equal(HttpStatusCode.BadRequest, noOwnerNamed.StatusCode);
        Assert.Equal(["ownerId"], (await noOwnerNamed.ProblemAsync()).Errors!.Keys);
    }

    [Fact]
    public async Task An_admin_reads_whose_a_channel_is_before_linking_it()
    {
        var (ownerId, adminId, channel) = (Guid.NewGuid(), Guid.NewGuid(), Requests.NewChannel());
        using var admin = app.ClientFor(adminId, "admin");
        using var streamer = app.ClientFor(ownerId, "streamer");

        var notLinked = await admin.GetAsync($"/api/pools/admin/channels/kick/{channel}");
        Assert.Equal((HttpStatusCode.NotFound, "https://streambets.dev/problems/channel-not-linked"), (notLinked.StatusCode, (await notLinked.ProblemAsync()).Type));

        await admin.PutAsJsonAsync($"/api/pools/admin/channels/kick/{channel}", new { ownerId });
        var read = await admin.GetAsync($"/api/pools/admin/channels/KICK/{channel}");
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        // The same link the owner's list shows.
        var listed = (await admin.GetFromJsonAsync<ChannelLinkJson[]>($"/api/pools/admin/channels?ownerId={ownerId}"))!.Single();
        Assert.Equal(listed, await read.Content.ReadFromJsonAsync<ChannelLinkJson>());
        Assert.Equal((new ChannelJson("kick", channel), ownerId, adminId, null), (listed.Channel, listed.OwnerId, listed.LinkedBy, listed.PreviousOwnerId));

        var bad = await admin.GetAsync("/api/pools/admin/channels/myspace/not%20a%20channel");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal(["channel.channelId", "channel.provider"], (await bad.ProblemAsync()).Errors!.Keys.Order());
        Assert.Equal(HttpStatusCode.Forbidden, (await streamer.GetAsync($"/api/pools/admin/channels/kick/{channel}")).StatusCode);
    }

    [Fact]
    public async Task A_streamer_opening_a_pool_while_their_channel_is_being_moved_waits_for_the_move_and_is_refused()
    {
        var (firstId, secondId, channel) = (Guid.NewGuid(), Guid.NewGuid(), Requests.NewChannel());
        using var admin = app.Admin();
        using var first = app.ClientFor(firstId, "streamer");
        await admin.PutAsJsonAsync($"/api/pools/admin/channels/twitch/{channel}", new { ownerId = firstId });
        // An operator's move to a second streamer, written and not committed yet.
        await using var connection = new NpgsqlConnection(app.ConnectionString);
        await connection.OpenAsync();
        await using var move = await connection.BeginTransactionAsync();
        await using (var update = new NpgsqlCommand("UPDATE channel_owners SET owner_id = $1 WHERE channel = $2", connection, move)
            { Parameters = { new() { Value = secondId }, new() { Value = $"twitch:{channel}" } } })
        {
            await update.ExecuteNonQueryAsync();
        }

        var create = first.PostAsJsonAsync("/api/pools", Requests.Pool(channel));
        await app.BlockedOrDoneAsync(create, "query LIKE '%channel_owners%'");
        await move.CommitAsync();
        var refused = await create;

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal(ChannelNotYours, (await refused.ProblemAsync()).Type);
        Assert.Empty((await first.GetFromJsonAsync<PoolJson[]>($"/api/pools/live?channel=twitch:{channel}"))!);
    }

    [Fact]
    public async Task Moving_a_channel_waits_for_the_pool_its_owner_is_opening()
    {
        var (firstId, secondId, channel) = (Guid.NewGuid(), Guid.NewGuid(), Requests.NewChannel());
        using var admin = app.Admin();
        using var first = app.ClientFor(firstId, "streamer");
        await admin.PutAsJsonAsync($"/api/pools/admin/channels/twitch/{channel}", new { ownerId = firstId });
        await using var pause = await app.PauseWritesAsync("pools", $"NEW.channel_id = '{channel}'", "INSERT");

        // The first streamer's create has checked the channel is theirs and waits to insert its pool.
        var create = first.PostAsJsonAsync("/api/pools", Requests.Pool(channel));
        await app.BlockedOrDoneAsync(create, "query LIKE '%INSERT INTO pools%'");
        var move = admin.PutAsJsonAsync($"/api/pools/admin/channels/twitch/{channel}", new { ownerId = secondId });
        await app.BlockedOrDoneAsync(move, "query LIKE '%channel_owners%'");
        var moveWaited = !move.IsCompleted;
        await pause.ReleaseAsync();
        var (created, moved) = (await create, await move);

        // Otherwise the first streamer would run a pool on a channel already the second's.
        Assert.True(moveWaited, "The channel moved while its owner's pool was being opened");
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(firstId, (await moved.Content.ReadFromJsonAsync<ChannelLinkJson>())!.PreviousOwnerId);
    }

    [Fact]
    public async Task Of_two_first_links_of_a_channel_at_once_the_later_names_the_owner_it_replaced()
    {
        var (firstId, secondId, channel) = (Guid.NewGuid(), Guid.NewGuid(), Requests.NewChannel());
        using var admin = app.Admin();
        await using var pause = await app.PauseWritesAsync("admin_changes", $"NEW.subject = 'twitch:{channel}'", "INSERT");

        // The first link has written the channel's row and waits, uncommitted, to write its history row.
        var firstLink = admin.PutAsJsonAsync($"/api/pools/admin/channels/twitch/{channel}", new { ownerId = firstId });
        await app.BlockedOrDoneAsync(firstLink, "query LIKE '%INSERT INTO admin_changes%'");
        var secondLink = admin.PutAsJsonAsync($"/api/pools/admin/channels/twitch/{channel}", new { ownerId = secondId });
        await app.BlockedOrDoneAsync(secondLink, "query NOT LIKE '%INSERT INTO admin_changes%'");
        await pause.ReleaseAsync();
        var (linkedFirst, linkedSecond) = (await firstLink, await secondLink);

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (linkedFirst.StatusCode, linkedSecond.StatusCode));
        Assert.Null((await linkedFirst.Content.ReadFromJsonAsync<ChannelLinkJson>())!.PreviousOwnerId);
        Assert.Equal(firstId, (await linkedSecond.Content.ReadFromJsonAsync<ChannelLinkJson>())!.PreviousOwnerId);
        var latest = (await admin.GetFromJsonAsync<ChangePageJson>("/api/pools/admin/changes?limit=100"))!.Items.First(c => c.Subject == $"twitch:{channel}");
        Assert.Equal((secondId, firstId), (latest.Details.GetProperty("ownerId").GetGuid(), latest.Details.GetProperty("previousOwnerId").GetGuid()));
    }

    private static string Name(ChannelLinkJson link) => $"{link.Channel.Provider}:{link.Channel.ChannelId}";
}
