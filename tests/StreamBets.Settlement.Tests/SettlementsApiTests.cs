using System.Net;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Text.Json;
using Grpc.Core;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection;
using StreamBets.Contracts.Pools;
using StreamBets.Settlement.Apis;
using StreamBets.Settlement.Data;
using StreamBets.Testing;

namespace StreamBets.Settlement.Tests;

/// <summary>GET /api/settlements and /api/settlements/{poolId}: what an operator, or the pool's streamer, reads of settlements.</summary>
[Collection(StackCollection.Name)]
public sealed class SettlementsApiTests(SettlementStack stack)
{
    [Fact]
    public async Task An_admin_and_the_pools_streamer_see_the_status_and_the_summary()
    {
        var streamerId = Guid.NewGuid();
        var pool = await StreamersPoolAsync(streamerId);
        var users = await stack.FundedUsersAsync(2, 5_000);
        await stack.PlaceAsync(pool.Id, [(users[0], pool.Outcomes[0], 1_000), (users[1], pool.Outcomes[1], 1_000)]);
        await stack.LockAsync(pool.Id);
        await stack.ResolveAsync(pool.Id, pool.Outcomes[1]);
        await stack.WaitSettledAsync(pool.Id);

        foreach (var (id, role) in new[] { (Guid.NewGuid(), "admin"), (streamerId, "streamer") })
        {
            using var client = stack.SettlementClient(id, role);
            var view = await client.GetFromJsonAsync<JsonElement>($"/api/settlements/{pool.Id}");
            Assert.Equal(("settled", "resolved", "parimutuel"), (view.GetProperty("status").GetString(), view.GetProperty("kind").GetString(), view.GetProperty("basis").GetString()));
            // T = 2,000; rake 100; the winner gets 1,900; no breakage.
            Assert.Equal((2L, 2L, 2_000L, 1_900L, 100L, 0L, 1L, 0L),
                (view.GetProperty("betCount").GetInt64(), view.GetProperty("settledBets").GetInt64(), view.GetProperty("totalMinor").GetInt64(),
                 view.GetProperty("paidMinor").GetInt64(), view.GetProperty("rakeMinor").GetInt64(), view.GetProperty("breakageMinor").GetInt64(),
                 view.GetProperty("winningBets").GetInt64(), view.GetProperty("escrowResidueMinor").GetInt64()));
        }

        // Another streamer's pool answers as unknown; a player may not ask at all.
        using var otherStreamer = stack.SettlementClient(Guid.NewGuid(), "streamer");
        Assert.Equal(HttpStatusCode.NotFound, (await otherStreamer.GetAsync($"/api/settlements/{pool.Id}")).StatusCode);
        using var player = stack.SettlementClient(users[0], "player");
        Assert.Equal(HttpStatusCode.Forbidden, (await player.GetAsync($"/api/settlements/{pool.Id}")).StatusCode);
    }

    [Fact]
    public async Task A_settlement_is_the_channels_current_streamers_to_read_not_the_streamers_the_channel_left()
    {
        var (openerId, newOwnerId, channel) = (Guid.NewGuid(), Guid.NewGuid(), $"chan-{Guid.NewGuid():N}");
        var pool = await StreamersPoolAsync(openerId, channel);
        var users = await stack.FundedUsersAsync(2, 5_000);
        await stack.PlaceAsync(pool.Id, [(users[0], pool.Outcomes[0], 1_000), (users[1], pool.Outcomes[1], 1_000)]);
        // An operator moves the channel; its new streamer runs the pool their predecessor opened (docs/pools.md).
        await stack.LinkChannelAsync(channel, newOwnerId);
        using var newOwnersPools = StreamerPools(newOwnerId);
        (await newOwnersPools.PostAsync($"/api/pools/{pool.Id}/lock", null)).EnsureSuccessStatusCode();
        (await newOwnersPools.PostAsJsonAsync($"/api/pools/{pool.Id}/resolve", new { winningOutcomeIds = new[] { pool.Outcomes[0] } })).EnsureSuccessStatusCode();
        await stack.WaitSettledAsync(pool.Id);
        using var newOwner = stack.SettlementClient(newOwnerId, "streamer");
        using var opener = stack.SettlementClient(openerId, "streamer");
        using var stranger = stack.SettlementClient(Guid.NewGuid(), "streamer");
        using var admin = stack.SettlementClient(Guid.NewGuid(), "admin");

        var newOwnersView = await newOwner.GetAsync($"/api/settlements/{pool.Id}");
        var openersView = await opener.GetAsync($"/api/settlements/{pool.Id}");

        Assert.Equal(HttpStatusCode.OK, newOwnersView.StatusCode);
        Assert.Equal("settled", (await newOwnersView.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
        // The streamer who opened the pool is told what any other streamer is: nothing, not even that it exists.
        var openersRefusal = await RefusalAsync(openersView);
        Assert.Equal((HttpStatusCode.NotFound, "https://streambets.dev/problems/settlement-not-found"), (openersRefusal.Status, openersRefusal.Type));
        Assert.Equal(await RefusalAsync(stranger, pool.Id), openersRefusal);

        // Unlinked, the channel's pools are nobody's but the admins'.
        (await stack.PoolsHttp.DeleteAsync($"/api/pools/admin/channels/twitch/{channel}?ownerId={newOwnerId}")).EnsureSuccessStatusCode();
        Assert.Equal(HttpStatusCode.NotFound, (await newOwner.GetAsync($"/api/settlements/{pool.Id}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/api/settlements/{pool.Id}")).StatusCode);
    }

    [Theory]
    [InlineData("pools-down")]
    [InlineData("pools-older-than-the-owner-field")]
    public async Task While_Pools_cannot_say_who_runs_a_pool_a_streamer_is_told_to_retry_whether_or_not_it_has_a_settlement(string pools)
    {
        var streamerId = Guid.NewGuid();
        var settled = await StreamersPoolAsync(streamerId);
        var users = await stack.FundedUsersAsync(1, 5_000);
        await stack.PlaceAsync(settled.Id, [(users[0], settled.Outcomes[0], 1_000)]);
        await stack.LockAsync(settled.Id);
        await stack.ResolveAsync(settled.Id, settled.Outcomes[0]);
        await stack.WaitSettledAsync(settled.Id);
        var streamer = new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", streamerId.ToString()), new Claim(ClaimTypes.Role, "streamer")], "test"));
        var store = stack.Settlement.Services.GetRequiredService<SettlementStore>();
        var silent = new SilentPools(pools == "pools-down"
            ? Task.FromException<PoolSnapshot>(new RpcException(new Status(StatusCode.Unavailable, "Pools is down (test).")))
            : Task.FromResult(new PoolSnapshot { PoolId = settled.Id.ToString(), CreatedBy = streamerId.ToString() })); // no channel_owner_id

        var answers = new List<int?>();
        foreach (var poolId in new[] { settled.Id, Guid.NewGuid() })
        {
            var answer = (await SettlementsApi.GetSettlement(poolId, streamer, store, silent, CancellationToken.None)).Result;
            answers.Add((answer as ProblemHttpResult)?.StatusCode);
        }

        // Before, a pool without a settlement answered 404 at once and one with a settlement 503 (or, from an older
        // Pools, a wrong 404 to its own streamer): the difference told anyone which pools had settlements.
        Assert.Equal([503, 503], answers);
    }

    /// <summary>A Pools that cannot say who runs a pool: down, or older than the channel_owner_id field.</summary>
    private sealed class SilentPools(Task<PoolSnapshot> answer) : StreamBets.Contracts.Pools.Pools.PoolsClient
    {
        public override AsyncUnaryCall<PoolSnapshot> GetPoolAsync(GetPoolRequest request, CallOptions options) =>
            new(answer, Task.FromResult(new Metadata()), () => Status.DefaultSuccess, () => [], () => { });
    }

    [Fact]
    public async Task An_admin_lists_settlements_of_a_status_newest_first_a_page_at_a_time()
    {
        var pools = new List<Guid>();
        for (var i = 0; i < 3; i++)
        {
            var pool = await stack.NewPoolAsync();
            await stack.CancelAsync(pool.Id);
            await stack.WaitSettledAsync(pool.Id);
            pools.Add(pool.Id);
        }
        using var admin = stack.SettlementClient(Guid.NewGuid(), "admin");

        // Two at a time, following nextCursor, until the three are seen (earlier tests' settlements come after them).
        var pages = new List<Guid[]>();
        string? cursor = null;
        do
        {
            var page = await admin.GetFromJsonAsync<JsonElement>($"/api/settlements?status=settled&limit=2{(cursor is null ? "" : $"&cursor={cursor}")}");
            var items = page.GetProperty("items").EnumerateArray().ToArray();
            Assert.All(items, item => Assert.Equal("settled", item.GetProperty("status").GetString()));
            pages.Add([.. items.Select(item => item.GetProperty("poolId").GetGuid())]);
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null && !pools.All(pages.SelectMany(p => p).Contains));

        // Newest first across the pages (a settlement another test left running may come between them), none twice.
        var listed = pages.SelectMany(p => p).ToArray();
        Assert.Equal([pools[2], pools[1], pools[0]], listed.Where(pools.Contains));
        Assert.All(pages, page => Assert.InRange(page.Length, 1, 2));
        Assert.Equal(listed.Length, listed.Distinct().Count());
        // Without a status the list holds them too, in the same order; with another status it does not.
        var all = await admin.GetFromJsonAsync<JsonElement>("/api/settlements?limit=100");
        Assert.Equal([pools[2], pools[1], pools[0]], all.GetProperty("items").EnumerateArray().Select(item => item.GetProperty("poolId").GetGuid()).Where(pools.Contains));
        var failed = await admin.GetFromJsonAsync<JsonElement>("/api/settlements?status=failed&limit=100");
        Assert.DoesNotContain(failed.GetProperty("items").EnumerateArray(), item => pools.Contains(item.GetProperty("poolId").GetGuid()));
    }

    [Fact]
    public async Task The_pools_streamer_sees_a_failed_settlement_without_the_error_an_admin_reads()
    {
        var streamerId = Guid.NewGuid();
        var pool = await StreamersPoolAsync(streamerId);
        var users = await stack.FundedUsersAsync(3, 5_000);
        await stack.PlaceAsync(pool.Id, [(users[0], pool.Outcomes[0], 1_000), (users[1], pool.Outcomes[1], 1_000)]);
        // The escrow is 1 short: the winner's 1,900 is paid, the rake refused, and the error names the escrow and the house.
        await stack.MoveAsync(pool.Escrow, $"user:{users[2]}", 1);
        await stack.LockAsync(pool.Id);
        await stack.ResolveAsync(pool.Id, pool.Outcomes[0]);
        Assert.True(await Eventually.HoldsAsync(async () => (await stack.StatusAsync(pool.Id)).Status == "failed", TimeSpan.FromSeconds(30)),
            $"The settlement is '{(await stack.StatusAsync(pool.Id)).Status}', not failed.");

        using var streamer = stack.SettlementClient(streamerId, "streamer");
        var streamersView = await streamer.GetFromJsonAsync<JsonElement>($"/api/settlements/{pool.Id}");
        Assert.Equal(("failed", JsonValueKind.Null), (streamersView.GetProperty("status").GetString(), streamersView.GetProperty("lastError").ValueKind));

        using var admin = stack.SettlementClient(Guid.NewGuid(), "admin");
        var adminsView = await admin.GetFromJsonAsync<JsonElement>($"/api/settlements/{pool.Id}");
        Assert.Equal("failed", adminsView.GetProperty("status").GetString());
        Assert.StartsWith("payment-refused", adminsView.GetProperty("lastError").GetString());
    }

    [Fact]
    public async Task Listing_settlements_is_for_admins_and_a_bad_query_is_a_problem_naming_each_field()
    {
        using var admin = stack.SettlementClient(Guid.NewGuid(), "admin");
        var response = await admin.GetAsync("/api/settlements?status=paid&limit=0&cursor=not-a-cursor");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("https://streambets.dev/problems/invalid-request", problem.GetProperty("type").GetString());
        Assert.Equal(["cursor", "limit", "status"], problem.GetProperty("errors").EnumerateObject().Select(e => e.Name).Order());
        Assert.Contains("due, running, settled, failed", problem.GetProperty("errors").GetProperty("status")[0].GetString());

        foreach (var role in new[] { "streamer", "player" })
        {
            using var client = stack.SettlementClient(Guid.NewGuid(), role);
            Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("/api/settlements")).StatusCode);
        }
    }

    [Fact]
    public async Task An_unknown_pool_is_a_problem_with_a_stable_type()
    {
        using var admin = stack.SettlementClient(Guid.NewGuid(), "admin");

        var response = await admin.GetAsync($"/api/settlements/{Guid.NewGuid()}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("https://streambets.dev/problems/settlement-not-found", problem.GetProperty("type").GetString());
    }

    [Fact]
    public async Task Only_a_failed_settlement_can_be_requeued()
    {
        var pool = await stack.NewPoolAsync();
        await stack.CancelAsync(pool.Id);
        await stack.WaitSettledAsync(pool.Id);
        using var admin = stack.SettlementClient(Guid.NewGuid(), "admin");

        var response = await admin.PostAsync($"/api/settlements/{pool.Id}/requeue", null);

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("https://streambets.dev/problems/settlement-not-failed", problem.GetProperty("type").GetString());
    }

    /// <summary>A pool the streamer opened on their own channel (<paramref name="channelId"/>, or a new one).</summary>
    private async Task<TestPool> StreamersPoolAsync(Guid streamerId, string? channelId = null)
    {
        using var streamerPools = StreamerPools(streamerId);
        return await stack.NewPoolAsync(streamer: (streamerId, streamerPools), channelId: channelId);
    }

    /// <summary>A client of the Pools API acting as the streamer.</summary>
    private HttpClient StreamerPools(Guid streamerId)
    {
        var client = new HttpClient { BaseAddress = stack.PoolsHttp.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new("Bearer", Testing.TestTokens.Shared.Token(streamerId, "streamer"));
        return client;
    }

    private static async Task<(HttpStatusCode Status, string? Type, string? Detail)> RefusalAsync(HttpClient client, Guid poolId) =>
        await RefusalAsync(await client.GetAsync($"/api/settlements/{poolId}"));

    private static async Task<(HttpStatusCode Status, string? Type, string? Detail)> RefusalAsync(HttpResponseMessage response)
    {
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (response.StatusCode, problem.GetProperty("type").GetString(), problem.GetProperty("detail").GetString());
    }
}
