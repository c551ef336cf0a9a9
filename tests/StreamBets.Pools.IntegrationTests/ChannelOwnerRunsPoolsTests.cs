using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using StreamBets.Testing;

namespace StreamBets.Pools.IntegrationTests;

/// <summary>
/// A channel's pools are run by the streamer the channel is linked to now (admins always may): once an operator moves
/// or unlinks the channel, the streamer who opened a pool there can no longer lock, resolve or cancel it, and is
/// refused as any streamer is for a pool on someone else's channel.
/// </summary>
public sealed class ChannelOwnerRunsPoolsTests(PoolsApp app) : IClassFixture<PoolsApp>
{
    private const string NotPoolOwner = "https://streambets.dev/problems/not-pool-owner";

    [Theory]
    [InlineData("lock")]
    [InlineData("resolve")]
    [InlineData("cancel")]
    public async Task A_streamer_whose_channel_moved_to_another_no_longer_runs_their_pool_and_the_new_owner_does(string action)
    {
        var (firstId, secondId, channel) = (Guid.NewGuid(), Guid.NewGuid(), NewChannel());
        using var admin = app.Admin();
        using var first = app.ClientFor(firstId, "streamer");
        using var second = app.ClientFor(secondId, "streamer");
        using var stranger = app.ClientFor(Guid.NewGuid(), "streamer");
        var pool = await OpenPoolAsync(admin, first, firstId, channel, lockedFirst: action == "resolve");
        var stateBefore = await StateAsync(first, pool);

        await LinkAsync(admin, channel, secondId);

        var byFormerOwner = await ActAsync(first, pool, action);
        var byStranger = await ActAsync(stranger, pool, action);
        Assert.Equal((HttpStatusCode.Forbidden, NotPoolOwner), await RefusalAsync(byFormerOwner));
        Assert.Equal(await RefusalAsync(byStranger), await RefusalAsync(byFormerOwner));
        Assert.Equal(stateBefore, await StateAsync(first, pool));
        Assert.Equal(HttpStatusCode.OK, (await ActAsync(second, pool, action)).StatusCode);
    }

    [Theory]
    [InlineData("lock")]
    [InlineData("resolve")]
    [InlineData("cancel")]
    public async Task A_streamer_whose_channel_was_unlinked_no_longer_runs_their_pool_and_an_admin_still_does(string action)
    {
        var (ownerId, channel) = (Guid.NewGuid(), NewChannel());
        using var admin = app.Admin();
        using var owner = app.ClientFor(ownerId, "streamer");
        var pool = await OpenPoolAsync(admin, owner, ownerId, channel, lockedFirst: action == "resolve");
        var stateBefore = await StateAsync(owner, pool);

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/pools/admin/channels/twitch/{channel}?ownerId={ownerId}")).StatusCode);

        Assert.Equal((HttpStatusCode.Forbidden, NotPoolOwner), await RefusalAsync(await ActAsync(owner, pool, action)));
        Assert.Equal(stateBefore, await StateAsync(owner, pool));
        Assert.Equal(HttpStatusCode.OK, (await ActAsync(admin, pool, action)).StatusCode);
    }

    [Fact]
    public async Task An_owner_locking_while_their_channel_is_being_unlinked_waits_for_the_unlink_and_is_refused()
    {
        var (ownerId, channel) = (Guid.NewGuid(), NewChannel());
        using var admin = app.Admin();
        using var owner = app.ClientFor(ownerId, "streamer");
        var pool = await OpenPoolAsync(admin, owner, ownerId, channel, lockedFirst: false);
        // An operator's unlink, written and not committed yet.
        await using var connection = new NpgsqlConnection(app.ConnectionString);
        await connection.OpenAsync();
        await using var unlink = await connection.BeginTransactionAsync();
        await using (var delete = new NpgsqlCommand("DELETE FROM channel_owners WHERE channel = $1", connection, unlink)
            { Parameters = { new() { Value = $"twitch:{channel}" } } })
        {
            Assert.Equal(1, await delete.ExecuteNonQueryAsync());
        }

        var locking = ActAsync(owner, pool, "lock");
        await app.BlockedOrDoneAsync(locking, "query LIKE '%channel_owners%'");
        await unlink.CommitAsync();

        // Otherwise a streamer the channel had just left would still lock its pool.
        Assert.Equal((HttpStatusCode.Forbidden, NotPoolOwner), await RefusalAsync(await locking));
        Assert.Equal("open", await StateAsync(owner, pool));
    }

    [Fact]
    public async Task Unlinking_a_channel_waits_for_the_lock_its_owner_is_saving()
    {
        var (ownerId, channel) = (Guid.NewGuid(), NewChannel());
        using var admin = app.Admin();
        using var owner = app.ClientFor(ownerId, "streamer");
        var pool = await OpenPoolAsync(admin, owner, ownerId, channel, lockedFirst: false);
        await using var pause = await app.PauseWritesAsync("pools", $"NEW.id = '{Id(pool)}'", "UPDATE");

        // The owner's lock has passed the owner check and waits to save the pool.
        var locking = ActAsync(owner, pool, "lock");
        await app.BlockedOrDoneAsync(locking, "query LIKE '%UPDATE pools%'");
        var unlinking = admin.DeleteAsync($"/api/pools/admin/channels/twitch/{channel}?ownerId={ownerId}");
        await app.BlockedOrDoneAsync(unlinking, "query LIKE '%channel_owners%'");
        var unlinkWaited = !unlinking.IsCompleted;
        await pause.ReleaseAsync();
        var (locked, unlinked) = (await locking, await unlinking);

        // Otherwise the pool would be locked by a streamer the channel had already left.
        Assert.True(unlinkWaited, "The channel was unlinked while its owner's lock was being saved");
        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.NoContent), (locked.StatusCode, unlinked.StatusCode));
    }

    /// <summary>Links the channel to the streamer, who opens a pool there (and locks it, for a test that resolves it).</summary>
    private static async Task<JsonElement> OpenPoolAsync(HttpClient admin, HttpClient streamer, Guid streamerId, string channel, bool lockedFirst)
    {
        await LinkAsync(admin, channel, streamerId);
        var created = await streamer.PostAsJsonAsync("/api/pools", new
        {
            channel = new { provider = "twitch", channelId = channel },
            title = "Will I win this round?",
            outcomes = new[] { "Yes", "No" },
            bettingWindowSeconds = 120,
        });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var pool = await created.Content.ReadFromJsonAsync<JsonElement>();
        if (lockedFirst)
        {
            Assert.Equal(HttpStatusCode.OK, (await ActAsync(streamer, pool, "lock")).StatusCode);
        }
        return pool;
    }

    private static async Task LinkAsync(HttpClient admin, string channel, Guid ownerId) =>
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/api/pools/admin/channels/twitch/{channel}", new { ownerId })).StatusCode);

    private static Task<HttpResponseMessage> ActAsync(HttpClient client, JsonElement pool, string action) =>
        client.PostAsJsonAsync($"/api/pools/{Id(pool)}/{action}", action == "resolve"
            ? new { winningOutcomeIds = new[] { pool.GetProperty("outcomes")[0].GetProperty("id").GetGuid() } }
            : new object());

    private static async Task<string?> StateAsync(HttpClient client, JsonElement pool) =>
        (await client.GetFromJsonAsync<JsonElement>($"/api/pools/{Id(pool)}")).GetProperty("state").GetString();

    private static async Task<(HttpStatusCode Status, string? Type)> RefusalAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        var type = body.Length > 0 && JsonDocument.Parse(body).RootElement is { ValueKind: JsonValueKind.Object } problem
            && problem.TryGetProperty("type", out var value) ? value.GetString() : null;
        return (response.StatusCode, type);
    }

    private static Guid Id(JsonElement pool) => pool.GetProperty("id").GetGuid();

    private static string NewChannel() => $"ch{Guid.NewGuid():N}"[..16];
}
