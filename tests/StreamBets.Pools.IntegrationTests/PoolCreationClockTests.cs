using System.Net;
using System.Net.Http.Json;
using Npgsql;
using StreamBets.Testing;

namespace StreamBets.Pools.IntegrationTests;

/// <summary>A new pool's betting window starts when the pool is written, not when its request arrived.</summary>
public sealed class PoolCreationClockTests(PoolsApp app) : IClassFixture<PoolsApp>
{
    [Fact]
    public async Task A_create_that_waited_for_its_channel_still_gives_bettors_the_whole_window()
    {
        var (streamerId, channel) = (Guid.NewGuid(), Requests.NewChannel());
        using var admin = app.Admin();
        using var streamer = app.ClientFor(streamerId, "streamer");
        Assert.Equal(HttpStatusCode.OK,
            (await admin.PutAsJsonAsync($"/api/pools/admin/channels/twitch/{channel}", new { ownerId = streamerId })).StatusCode);
        // An operator's change of the channel's link, holding its row and not committed yet.
        await using var connection = new NpgsqlConnection(app.ConnectionString);
        await connection.OpenAsync();
        await using var relink = await connection.BeginTransactionAsync();
        await using (var hold = new NpgsqlCommand("SELECT 1 FROM channel_owners WHERE channel = $1 FOR UPDATE", connection, relink)
            { Parameters = { new() { Value = $"twitch:{channel}" } } })
        {
            Assert.Equal(1, await hold.ExecuteScalarAsync());
        }

        var creating = streamer.PostAsJsonAsync("/api/pools", Requests.Pool(channel, window: 30));
        await app.BlockedOrDoneAsync(creating, "query LIKE '%channel_owners%'");
        Assert.False(creating.IsCompleted, "The create did not wait for the channel's row");
        app.Clock.Advance(TimeSpan.FromSeconds(20));
        var released = app.Clock.GetUtcNow();
        released = released.AddTicks(-(released.Ticks % 10)); // PostgreSQL keeps microseconds
        await relink.RollbackAsync();

        var created = await creating;
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var pool = (await created.Content.ReadFromJsonAsync<PoolJson>())!;
        // Otherwise the 20 s waited came out of a 30 s window, and a pool could commit with its lock time already past.
        Assert.True(pool.OpenedAt >= released, $"Opened at {pool.OpenedAt:O}, before the channel's row was released at {released:O}");
        Assert.Equal(pool.OpenedAt + TimeSpan.FromSeconds(30), pool.LocksAt);
        Assert.Equal(pool.OpenedAt, pool.CreatedAt);
        Assert.True(pool.BettingOpen);
    }
}
