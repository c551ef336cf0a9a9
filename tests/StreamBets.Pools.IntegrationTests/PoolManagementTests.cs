using System.Net;
using System.Net.Http.Json;
using StreamBets.Pools.Apis;

namespace StreamBets.Pools.IntegrationTests;

/// <summary>Creating, locking, resolving and cancelling pools through REST, with who may do what and what bad input gets.</summary>
public sealed class PoolManagementTests(PoolsApp app) : IClassFixture<PoolsApp>
{
    [Fact]
    public async Task A_streamer_opens_a_pool_with_the_configured_rake_and_stakes()
    {
        using var streamer = app.NewStreamer(out var streamerId);
        var channel = Requests.NewChannel();

        var response = await streamer.PostAsJsonAsync("/api/pools", Requests.Pool(channel, window: 90));
        var pool = (await response.Content.ReadFromJsonAsync<PoolJson>())!;

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal($"/api/pools/{pool.Id}", response.Headers.Location?.ToString());
        Assert.Equal("open", pool.State);
        Assert.True(pool.BettingOpen);
        Assert.Equal(streamerId, pool.CreatedBy);
        Assert.Equal(new ChannelJson("twitch", channel), pool.Channel);
        Assert.Equal(["Yes", "No", "Draw"], pool.Outcomes.Select(o => o.Label));
        Assert.Equal((500, 100, 100_000), (pool.RakeBasisPoints, pool.MinStakeMinor, pool.MaxStakeMinor));
        Assert.Equal(pool.OpenedAt + TimeSpan.FromSeconds(90), pool.LocksAt);
        Assert.All(pool.Outcomes, o => Assert.Equal((0, 0, null), (o.StakedMinor, o.BetCount, o.ReturnPerUnit)));
    }

    [Fact]
    public async Task Several_pools_are_read_in_one_call_and_unknown_ids_are_left_out()
    {
        using var streamer = app.NewStreamer(out _);
        using var player = app.Player();
        var first = await streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel(), title: "First?"));
        var second = await streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel(), title: "Second?"));

        var pools = await player.GetFromJsonAsync<PoolJson[]>($"/api/pools?ids={first.Id},{Guid.NewGuid()},{second.Id},{first.Id}");
        var malformed = await player.GetAsync($"/api/pools?ids={first.Id},not-an-id");
        var none = await player.GetAsync("/api/pools");
        var tooMany = await player.GetAsync($"/api/pools?ids={string.Join(',', Enumerable.Range(0, 101).Select(_ => Guid.NewGuid()))}");

        Assert.Equal(["First?", "Second?"], pools!.Select(p => p.Title).Order());
        foreach (var refused in new[] { malformed, none, tooMany })
        {
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal(["ids"], (await refused.ProblemAsync()).Errors!.Keys);
        }
    }

    [Fact]
    public async Task A_player_cannot_create_a_pool_and_an_anonymous_caller_cannot_even_read()
    {
        using var player = app.Player();
        using var anonymous = app.AnonymousClient();

        var byPlayer = await player.PostAsJsonAsync("/api/pools", Requests.Pool(Requests.NewChannel()));
        var byAnonymous = await anonymous.GetAsync($"/api/pools/{Guid.NewGuid()}");

        Assert.Equal(HttpStatusCode.Forbidden, byPlayer.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, byAnonymous.StatusCode);
    }

    [Theory]
    [InlineData("lock")]
    [InlineData("resolve")]
    [InlineData("cancel")]
    public async Task A_streamer_cannot_touch_another_streamers_pool(string action)
    {
        using var owner = app.NewStreamer(out _);
        using var intruder = app.NewStreamer(out _);
        var pool = await owner.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));
        await owner.ActAsync(pool.Id, "lock");

        var response = await intruder.ActAsync(pool.Id, action, new { winningOutcomeIds = new[] { pool.Outcomes[0].Id } });

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("https://streambets.dev/problems/not-pool-owner", (await response.ProblemAsync()).Type);
        Assert.Equal("locked", (await owner.GetPoolAsync(pool.Id)).State);
    }

    [Fact]
    public async Task An_admin_manages_any_pool_and_a_cancellation_by_an_admin_is_an_operator_cancellation()
    {
        using var streamer = app.NewStreamer(out _);
        using var admin = app.Admin();
        var pool = await streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));

        Assert.Equal(HttpStatusCode.OK, (await admin.ActAsync(pool.Id, "lock")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.ActAsync(pool.Id, "cancel")).StatusCode);

        var events = await app.EventsAsync(pool.Id);
        Assert.Equal("operator", events.Single(e => e.Type == "streambets.pools.cancelled.v1").Data.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task A_locked_pool_is_resolved_with_several_winners_for_a_dead_heat()
    {
        using var streamer = app.NewStreamer(out _);
        var pool = await streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));
        Guid[] winners = [pool.Outcomes[0].Id, pool.Outcomes[2].Id];

        var locked = await streamer.ActAsync(pool.Id, "lock");
        var resolved = await streamer.ActAsync(pool.Id, "resolve", new { winningOutcomeIds = winners });
        var result = (await resolved.Content.ReadFromJsonAsync<PoolJson>())!;

        Assert.Equal(HttpStatusCode.OK, locked.StatusCode);
        Assert.Equal(HttpStatusCode.OK, resolved.StatusCode);
        Assert.Equal("resolved", result.State);
        Assert.Equal(winners, result.WinningOutcomeIds);
        Assert.Equal(3, result.Version);
    }

    [Fact]
    public async Task Resolving_an_open_pool_is_refused_with_a_stable_problem_type_and_changes_nothing()
    {
        using var streamer = app.NewStreamer(out _);
        var pool = await streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));

        var response = await streamer.ActAsync(pool.Id, "resolve", new { winningOutcomeIds = new[] { pool.Outcomes[0].Id } });
        var problem = await response.ProblemAsync();

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal("https://streambets.dev/problems/invalid-transition", problem.Type);
        Assert.Equal("A pool that is Open cannot be resolved.", problem.Detail);
        var after = await streamer.GetPoolAsync(pool.Id);
        Assert.Equal(("open", pool.Version), (after.State, after.Version));
    }

    [Fact]
    public async Task Resolving_with_an_outcome_of_another_pool_is_refused_and_leaves_no_partial_state()
    {
        using var streamer = app.NewStreamer(out _);
        var pool = await streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));
        await streamer.ActAsync(pool.Id, "lock");
        var eventsBefore = (await app.EventsAsync(pool.Id)).Count;

        var response = await streamer.ActAsync(pool.Id, "resolve", new { winningOutcomeIds = new[] { pool.Outcomes[0].Id, Guid.NewGuid() } });
        var noWinner = await streamer.ActAsync(pool.Id, "resolve", new { winningOutcomeIds = Array.Empty<Guid>() });

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("https://streambets.dev/problems/unknown-outcome", (await response.ProblemAsync()).Type);
        Assert.Equal("https://streambets.dev/problems/winner-required", (await noWinner.ProblemAsync()).Type);
        var after = await streamer.GetPoolAsync(pool.Id);
        Assert.Equal(("locked", 2), (after.State, after.Version));
        Assert.Empty(after.WinningOutcomeIds);
        Assert.Equal(eventsBefore, (await app.EventsAsync(pool.Id)).Count);
    }

    [Fact]
    public async Task A_pool_can_be_cancelled_after_it_locked()
    {
        using var streamer = app.NewStreamer(out _);
        var pool = await streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));
        await streamer.ActAsync(pool.Id, "lock");

        var response = await streamer.ActAsync(pool.Id, "cancel");
        var again = await streamer.ActAsync(pool.Id, "cancel");

        var cancelled = (await response.Content.ReadFromJsonAsync<PoolJson>())!;
        Assert.Equal(("cancelled", "manual"), (cancelled.State, cancelled.CancellationReason));
        Assert.Equal("https://streambets.dev/problems/invalid-transition", (await again.ProblemAsync()).Type);
        Assert.Equal("streamer", (await app.EventsAsync(pool.Id)).Single(e => e.Type == "streambets.pools.cancelled.v1").Data.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Bad_input_gets_a_validation_problem_per_field_and_creates_nothing()
    {
        using var streamer = app.NewStreamer(out _);
        var poolsBefore = await app.ScalarAsync<long>("SELECT count(*) FROM pools");
        var eventsBefore = await app.ScalarAsync<long>("SELECT count(*) FROM test_outbox_audit");

        var response = await streamer.PostAsJsonAsync("/api/pools", new
        {
            channel = new { provider = "myspace", channelId = "" },
            title = new string('x', 46),
            outcomes = new[] { "Only one" },
            bettingWindowSeconds = 10,
            minStakeMinor = 0,
        });
        var problem = await response.ProblemAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("https://streambets.dev/problems/invalid-pool", problem.Type);
        Assert.Equal(
            ["bettingWindowSeconds", "channel.channelId", "channel.provider", "minStakeMinor", "outcomes", "title"],
            problem.Errors!.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(poolsBefore, await app.ScalarAsync<long>("SELECT count(*) FROM pools"));
        Assert.Equal(eventsBefore, await app.ScalarAsync<long>("SELECT count(*) FROM test_outbox_audit"));
    }

    [Fact]
    public async Task Malformed_json_is_a_problem_not_a_server_error()
    {
        using var streamer = app.NewStreamer(out _);

        var response = await streamer.PostAsync("/api/pools", new StringContent("{\"title\": ", System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task A_body_that_is_not_json_is_an_unsupported_media_type_not_a_missing_route()
    {
        using var streamer = app.NewStreamer(out _);
        var poolsBefore = await app.ScalarAsync<long>("SELECT count(*) FROM pools");

        // gRPC's catch-all for unknown methods ({service}/{method}) once took any two-segment POST it could not route
        // by content type, and answered 404 as if /api/pools did not exist.
        var response = await streamer.PostAsync("/api/pools", new StringContent("title=Who wins", System.Text.Encoding.UTF8, "text/plain"));

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(poolsBefore, await app.ScalarAsync<long>("SELECT count(*) FROM pools"));
    }

    [Fact]
    public async Task An_unknown_pool_is_not_found()
    {
        using var streamer = app.NewStreamer(out _);
        var unknown = Guid.NewGuid();

        var read = await streamer.GetAsync($"/api/pools/{unknown}");
        var locked = await streamer.ActAsync(unknown, "lock");

        Assert.Equal(HttpStatusCode.NotFound, read.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, locked.StatusCode);
        Assert.Equal("https://streambets.dev/problems/pool-not-found", (await locked.ProblemAsync()).Type);
    }

    [Fact]
    public async Task A_channel_has_at_most_one_active_pool()
    {
        using var streamer = app.NewStreamer(out _);
        var channel = Requests.NewChannel();
        var first = await streamer.CreatePoolAsync(Requests.Pool(channel));

        var second = await streamer.PostAsJsonAsync("/api/pools", Requests.Pool(channel));
        var elsewhere = await streamer.PostAsJsonAsync("/api/pools", Requests.Pool(channel, provider: "kick"));
        await streamer.ActAsync(first.Id, "cancel");
        var afterCancel = await streamer.PostAsJsonAsync("/api/pools", Requests.Pool(channel));

        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        Assert.Equal("https://streambets.dev/problems/channel-has-active-pool", (await second.ProblemAsync()).Type);
        Assert.Equal(HttpStatusCode.Created, elsewhere.StatusCode);
        Assert.Equal(HttpStatusCode.Created, afterCancel.StatusCode);
    }

    [Fact]
    public async Task Simultaneous_creations_on_one_channel_open_exactly_one_pool()
    {
        using var streamer = app.NewStreamer(out _);
        var channel = Requests.NewChannel();

        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => streamer.PostAsJsonAsync("/api/pools", Requests.Pool(channel))));

        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created);
        Assert.All(responses.Where(r => r.StatusCode != HttpStatusCode.Created), r => Assert.Equal(HttpStatusCode.Conflict, r.StatusCode));
        Assert.Equal(1L, await app.ScalarAsync<long>("SELECT count(*) FROM pools WHERE channel_id = $1", channel));
    }

    [Fact]
    public async Task Two_operators_locking_at_once_lock_the_pool_once()
    {
        using var streamer = app.NewStreamer(out _);
        using var admin = app.Admin();
        var pool = await streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));

        var responses = await Task.WhenAll(streamer.ActAsync(pool.Id, "lock"), admin.ActAsync(pool.Id, "lock"), admin.ActAsync(pool.Id, "lock"));

        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.OK);
        Assert.All(responses.Where(r => r.StatusCode != HttpStatusCode.OK), r => Assert.Equal(HttpStatusCode.Conflict, r.StatusCode));
        Assert.Single(await app.EventsAsync(pool.Id), e => e.Type == "streambets.pools.locked.v1");
        Assert.Equal(2, (await streamer.GetPoolAsync(pool.Id)).Version);
    }

    [Fact]
    public async Task Live_pools_of_a_channel_are_the_open_and_locked_ones()
    {
        using var admin = app.Admin();
        var channel = Requests.NewChannel();
        var resolved = await admin.CreatePoolAsync(Requests.Pool(channel));
        await admin.ActAsync(resolved.Id, "lock");
        await admin.ActAsync(resolved.Id, "resolve", new { winningOutcomeIds = new[] { resolved.Outcomes[0].Id } });
        var live = await admin.CreatePoolAsync(Requests.Pool(channel));
        using var player = app.Player();

        var pools = await player.GetFromJsonAsync<PoolJson[]>($"/api/pools/live?channel=twitch:{channel}");
        var badChannel = await player.GetAsync("/api/pools/live?channel=nowhere");

        Assert.Equal([live.Id], pools!.Select(p => p.Id));
        Assert.Equal(HttpStatusCode.BadRequest, badChannel.StatusCode);
    }

    [Fact]
    public async Task Channels_with_live_pools_are_listed_with_their_counts_and_next_lock()
    {
        using var admin = app.Admin();
        var (betting, waiting, finished) = (Requests.NewChannel(), Requests.NewChannel(), Requests.NewChannel());
        var done = await admin.CreatePoolAsync(Requests.Pool(finished));
        await admin.ActAsync(done.Id, "cancel");
        var locked = await admin.CreatePoolAsync(Requests.Pool(waiting, provider: "kick"));
        await admin.ActAsync(locked.Id, "lock");
        var open = await admin.CreatePoolAsync(Requests.Pool(betting, window: 300));
        using var player = app.Player();

        var channels = await player.GetFromJsonAsync<LiveChannelJson[]>($"/api/pools/channels?limit={PoolsApi.MaxLiveChannels}");
        var badLimit = await player.GetAsync("/api/pools/channels?limit=0");

        var bettingListed = Assert.Single(channels!, c => c.ChannelId == betting);
        Assert.Equal(new LiveChannelJson($"twitch:{betting}", "twitch", betting, 1, 1, null), bettingListed with { NextLockAt = null });
        // PostgreSQL keeps microseconds; the clock has ticks.
        Assert.Equal(open.LocksAt!.Value, bettingListed.NextLockAt!.Value, TimeSpan.FromMilliseconds(1));
        Assert.Equal(new LiveChannelJson($"kick:{waiting}", "kick", waiting, 1, 0, null), Assert.Single(channels!, c => c.ChannelId == waiting));
        Assert.DoesNotContain(channels!, c => c.ChannelId == finished);
        Assert.Equal(HttpStatusCode.BadRequest, badLimit.StatusCode);
    }
}

public sealed record LiveChannelJson(string Channel, string Provider, string ChannelId, int LivePools, int OpenPools, DateTimeOffset? NextLockAt);
