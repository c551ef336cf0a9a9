using System.Security.Claims;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using StackExchange.Redis;
using StreamBets.FrontEnd.Auth;
using StreamBets.FrontEnd.Gateway;
using StreamBets.Testing;
using StreamBets.Web.Gateway;
using StreamBets.Web.Live;

namespace StreamBets.Web.Tests;

/// <summary>
/// The circuit's hub connection against a stand-in hub on a real port: every numbered message reaches the pages once,
/// whether it was pushed, pushed late, or lost and caught up (docs/realtime.md, "Sequences and catching up").
/// </summary>
public sealed class LiveUpdatesTests : IAsyncLifetime
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(15);
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private readonly int _port = StreamBets.Testing.InProcessServices.FreePort();
    private readonly List<LiveMessage> _raised = [];
    private StandInHub? _hub;
    private LiveUpdates? _live;

    [Fact]
    public async Task The_hub_connection_is_one_websocket_request_so_it_cannot_land_on_two_realtime_replicas()
    {
        await ConnectedAsync();

        // No negotiate before it, which the gateway could send to another replica than the WebSocket's; and the front
        // end's key still travels, so an anonymous visitor is counted against the front end's budget.
        Assert.Equal(["GET /hubs/live (WebSocket) vouched"], _hub!.Requests);
    }

    [Fact]
    public async Task Messages_a_stream_skipped_are_caught_up_when_they_do_not_follow_within_a_second()
    {
        var live = await ConnectedAsync();
        var pool = Guid.NewGuid();

        await _hub!.PushAsync("OddsChanged", Odds(pool, 1));
        _hub.Keep("OddsChanged", Odds(pool, 2)); // numbered, but its push was lost
        await _hub.PushAsync("OddsChanged", Odds(pool, 3));
        await _hub.PushAsync("OddsChanged", Odds(pool, 3)); // pushed again, as a redelivered event is
        Assert.True(await RaisedAsync(1, 3));

        _clock.Advance(LiveUpdates.GapWait);

        Assert.True(await RaisedAsync(1, 3, 2), Sequences());
        Assert.Contains($"CatchUp pool:{pool} 1", _hub.Calls);
    }

    [Fact]
    public async Task A_skipped_message_pushed_late_is_applied_once_and_not_caught_up()
    {
        var live = await ConnectedAsync();
        var pool = Guid.NewGuid();

        await _hub!.PushAsync("PoolStateChanged", State(pool, 1, "open"));
        await _hub.PushAsync("PoolStateChanged", State(pool, 3, "resolved"));
        await _hub.PushAsync("PoolStateChanged", State(pool, 2, "locked")); // a redelivery, under its first number
        await _hub.PushAsync("PoolStateChanged", State(pool, 2, "locked"));
        await _hub.PushAsync("PoolStateChanged", State(pool, 1, "open"));
        Assert.True(await RaisedAsync(1, 3, 2));
        _clock.Advance(LiveUpdates.GapWait);
        await _hub.PushAsync("PoolStateChanged", State(pool, 4, "resolved")); // a mark that everything before has arrived

        Assert.True(await RaisedAsync(1, 3, 2, 4), Sequences());
        // Only the numbers pushed twice are checked, once, after the highest: the counter has not gone back.
        Assert.Equal([$"CatchUp pool:{pool} 3"], _hub.Calls.Where(call => call.StartsWith("CatchUp", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Numbers_handed_out_again_after_a_stream_counter_went_back_have_pages_read_again_and_the_stream_starts_over()
    {
        var live = await ConnectedAsync();
        var reloads = 0;
        live.ReloadNeeded += () => Interlocked.Increment(ref reloads);
        var pool = Guid.NewGuid();
        await _hub!.PushAsync("PoolStateChanged", State(pool, 1, "open"));
        await _hub.PushAsync("OddsChanged", Odds(pool, 2));
        await _hub.PushAsync("OddsChanged", Odds(pool, 3));
        Assert.True(await RaisedAsync(1, 2, 3));

        // Redis failed over to a replica that had not seen the last two numbers: the lock takes number 2 again.
        _hub.GoBack($"pool:{pool}", 1);
        await _hub.PushAsync("PoolStateChanged", State(pool, 2, "locked"));

        Assert.True(await Eventually.HoldsAsync(() =>
        {
            _clock.Advance(LiveUpdates.GapWait); // the push is on its way: its check waits from when it arrives
            return Task.FromResult(Volatile.Read(ref reloads) == 1);
        }, Within), "the lock's push went unnoticed");
        Assert.Contains($"CatchUp pool:{pool} 3", _hub.Calls);
        await _hub.PushAsync("PoolStateChanged", State(pool, 3, "resolved"));
        Assert.True(await RaisedAsync(1, 2, 3, 3), Sequences());
    }

    [Fact]
    public async Task A_watch_the_hub_refused_as_one_too_many_is_sent_again_and_pages_read_again_once_it_is_taken()
    {
        var live = await ConnectedAsync();
        var reloads = 0;
        live.ReloadNeeded += () => Interlocked.Increment(ref reloads);
        var (pool, given) = (Guid.NewGuid(), Guid.NewGuid());
        _hub!.RefuseNext("WatchPool", times: 3);

        await live.WatchPoolAsync(pool);
        await live.WatchPoolAsync(given);
        await live.UnwatchPoolAsync(given); // left before its watch was taken: not sent again
        Assert.True(await Eventually.HoldsAsync(() =>
        {
            _clock.Advance(LiveUpdates.RefusedRetryAfter);
            return Task.FromResult(_hub.Calls.Count(c => c == $"WatchPool {pool}") == 3);
        }, Within), string.Join("; ", _hub.Calls));

        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(Volatile.Read(ref reloads) == 1), Within));
        Assert.Equal(1, _hub.Calls.Count(c => c == $"WatchPool {given}"));
    }

    [Fact]
    public async Task A_catch_up_the_hub_refused_as_one_too_many_is_asked_again()
    {
        await ConnectedAsync();
        var pool = Guid.NewGuid();
        _hub!.RefuseNext("CatchUp");
        await _hub.PushAsync("OddsChanged", Odds(pool, 1));
        _hub.Keep("OddsChanged", Odds(pool, 2)); // numbered, but its push was lost
        await _hub.PushAsync("OddsChanged", Odds(pool, 3));
        Assert.True(await RaisedAsync(1, 3));

        _clock.Advance(LiveUpdates.GapWait); // refused
        Assert.True(await Eventually.HoldsAsync(() =>
        {
            _clock.Advance(LiveUpdates.GapWait); // the refusal is on its way back: the retry waits from when it arrives
            return Task.FromResult(_hub.Calls.Count(c => c == $"CatchUp pool:{pool} 1") == 2);
        }, Within), string.Join("; ", _hub.Calls));

        Assert.True(await RaisedAsync(1, 3, 2), Sequences());
        Assert.Equal(2, _hub.Calls.Count(c => c == $"CatchUp pool:{pool} 1"));
    }

    [Fact]
    public async Task A_push_lost_while_the_hub_backplane_was_down_is_caught_up_on_resync_though_it_was_the_last_of_its_stream()
    {
        var live = await ConnectedAsync();
        var reloads = 0;
        live.ReloadNeeded += () => Interlocked.Increment(ref reloads);
        var pool = Guid.NewGuid();
        await _hub!.PushAsync("OddsChanged", Odds(pool, 1));
        await _hub.PushAsync("WalletChanged", Wallet(10_00, 1));
        Assert.True(await RaisedAsync(1, 1));

        // Sent by another replica while this one's Redis backplane was down: numbered, never pushed here, and nothing
        // after it opens a gap that would tell.
        _hub.Keep("PoolStateChanged", State(pool, 2, "resolved"));
        await _hub.ResyncAsync();

        Assert.True(await Eventually.HoldsAsync(() =>
        {
            _clock.Advance(LiveUpdates.GapWait); // the resync is on its way: its catch-ups wait from when it arrives
            return Task.FromResult(_hub.Calls.Count(c => c.StartsWith("CatchUp", StringComparison.Ordinal)) == 2);
        }, Within), string.Join("; ", _hub.Calls));
        Assert.True(await RaisedAsync(1, 1, 2), Sequences());
        Assert.Contains($"CatchUp pool:{pool} 1", _hub.Calls);
        Assert.Contains("CatchUp user 1", _hub.Calls);
        Assert.Equal(0, Volatile.Read(ref reloads)); // the connection stayed up: the replays are enough
    }

    [Fact]
    public async Task A_stream_too_far_behind_to_catch_up_has_pages_read_again_and_starts_over_at_its_next_message()
    {
        var live = await ConnectedAsync();
        var reloads = 0;
        live.ReloadNeeded += () => Interlocked.Increment(ref reloads);
        var pool = Guid.NewGuid();
        await _hub!.PushAsync("OddsChanged", Odds(pool, 1));
        await _hub.PushAsync("OddsChanged", Odds(pool, 300));
        _hub.Forget($"pool:{pool}");
        Assert.True(await RaisedAsync(1, 300));

        _clock.Advance(LiveUpdates.GapWait);
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(Volatile.Read(ref reloads) == 1), Within));
        await _hub.PushAsync("OddsChanged", Odds(pool, 2)); // Redis lost the stream and numbers it again

        Assert.True(await RaisedAsync(1, 300, 2), Sequences());
    }

    [Fact]
    public async Task After_a_reconnect_each_stream_heard_from_catches_up_and_pages_read_again()
    {
        var live = await ConnectedAsync();
        var reloads = 0;
        live.ReloadNeeded += () => Interlocked.Increment(ref reloads);
        await _hub!.PushAsync("WalletChanged", new WalletChangedMessage(10_00, 10_00, "deposit", DateTimeOffset.UtcNow) { Stream = "user", Sequence = 1 });
        Assert.True(await RaisedAsync(1));

        _hub.DropConnections();
        _hub.Keep("BetSettled", new BetSettledMessage(Guid.NewGuid(), Guid.NewGuid(), "won", 5_00, 9_00, DateTimeOffset.UtcNow) { Stream = "user", Sequence = 2 });
        await ReconnectedAsync(live);

        Assert.True(await RaisedAsync(1, 2), Sequences());
        Assert.Contains("CatchUp user 1", _hub.Calls);
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(Volatile.Read(ref reloads) == 1), Within));
    }

    [Fact]
    public async Task After_a_reconnect_streams_too_far_behind_have_pages_read_again_once_not_once_each()
    {
        var live = await ConnectedAsync();
        var reloads = 0;
        live.ReloadNeeded += () => Interlocked.Increment(ref reloads);
        // A channel page watches many pools; Redis lost every replay while the connection was down.
        var pools = Enumerable.Range(0, 8).Select(_ => Guid.NewGuid()).ToList();
        foreach (var pool in pools)
        {
            await _hub!.PushAsync("OddsChanged", Odds(pool, 1));
            _hub.Forget($"pool:{pool}");
        }
        Assert.True(await RaisedAsync([.. pools.Select(_ => 1L)]));

        _hub!.DropConnections();
        await ReconnectedAsync(live);

        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(_hub.Calls.Count(c => c.StartsWith("CatchUp", StringComparison.Ordinal)) == pools.Count), Within));
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(Volatile.Read(ref reloads) >= 1), Within));
        await Task.Delay(300);
        Assert.Equal(1, Volatile.Read(ref reloads));
    }

    [Fact]
    public async Task Streams_that_fall_too_far_behind_together_have_pages_read_again_once_and_once_more_after_a_moment()
    {
        var live = await ConnectedAsync();
        var reloads = 0;
        live.ReloadNeeded += () => Interlocked.Increment(ref reloads);
        var pools = Enumerable.Range(0, 5).Select(_ => Guid.NewGuid()).ToList();
        foreach (var pool in pools)
        {
            await _hub!.PushAsync("OddsChanged", Odds(pool, 1));
            await _hub.PushAsync("OddsChanged", Odds(pool, 300));
            _hub.Forget($"pool:{pool}");
        }
        Assert.True(await RaisedAsync([.. pools.SelectMany(_ => new[] { 1L, 300L })]));

        _clock.Advance(LiveUpdates.GapWait);

        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(_hub!.Calls.Count(c => c.StartsWith("CatchUp", StringComparison.Ordinal)) == pools.Count), Within));
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(Volatile.Read(ref reloads) >= 1), Within));
        await Task.Delay(300);
        Assert.Equal(1, Volatile.Read(ref reloads));
        // The gaps that came after the first read may hold what it did not see: one more read, a moment later.
        _clock.Advance(LiveUpdates.ReloadWindow);
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(Volatile.Read(ref reloads) == 2), Within));
        await Task.Delay(300);
        Assert.Equal(2, Volatile.Read(ref reloads));
    }

    [Fact]
    public async Task After_the_user_stream_starts_over_its_new_numbers_set_the_balance()
    {
        var live = await ConnectedAsync();
        var gateway = new ScriptedGateway();
        (var client, _, var redis) = await gateway.SignedInAsync();
        await using var redisConnection = redis;
        using var wallet = new WalletState(client, live, _clock);
        await _hub!.PushAsync("WalletChanged", Wallet(10_00, 1));
        await _hub.PushAsync("WalletChanged", Wallet(30_00, 300));
        _hub.Forget("user");
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(wallet.BalanceMinor == 30_00), Within));

        // Redis lost the stream: CatchUp says so, the balance is read again, and the stream is numbered from 1 again.
        gateway.Answer("/api/users/me/wallet", new WalletBalance(Guid.Empty, 30_00));
        _clock.Advance(LiveUpdates.GapWait);
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(gateway.Requests.Contains("/api/users/me/wallet")), Within));
        await _hub.PushAsync("WalletChanged", Wallet(45_00, 2));

        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(wallet.BalanceMinor == 45_00), Within), $"Balance: {wallet.BalanceMinor}");
    }

    [Fact]
    public async Task A_hub_reached_only_after_a_failed_start_has_pages_read_again()
    {
        var live = NewLiveUpdates();
        var reloads = 0;
        live.ReloadNeeded += () => Interlocked.Increment(ref reloads);
        var starting = live.EnsureStartedAsync(); // nothing listens on the port yet
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(live.Status == LiveStatus.Offline), Within));

        _hub = await StandInHub.StartAsync(_port);
        Assert.True(await Eventually.HoldsAsync(() =>
        {
            _clock.Advance(TimeSpan.FromSeconds(10)); // the next attempt
            return Task.FromResult(live.Status == LiveStatus.Live);
        }, Within));
        await starting;

        Assert.Equal(1, reloads);
    }

    [Fact]
    public async Task A_balance_changed_between_the_first_read_and_the_first_connect_is_read_again_once_connected()
    {
        _hub = await StandInHub.StartAsync(_port);
        var live = NewLiveUpdates();
        var reloads = 0;
        live.ReloadNeeded += () => Interlocked.Increment(ref reloads);
        var gateway = new ScriptedGateway();
        (var client, _, var redis) = await gateway.SignedInAsync();
        await using var redisConnection = redis;
        using var wallet = new WalletState(client, live, _clock);
        gateway.Answer("/api/users/me/wallet", new WalletBalance(Guid.Empty, 10_00));
        await wallet.RefreshAsync(); // the top bar's read, before the circuit's first render starts the hub

        // A payout lands before the connection joins the user's group: its push reaches nobody.
        gateway.Answer("/api/users/me/wallet", new WalletBalance(Guid.Empty, 25_00));
        await live.EnsureStartedAsync();

        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(wallet.BalanceMinor == 25_00), Within), $"Balance: {wallet.BalanceMinor}");
        Assert.Equal(1, reloads);
    }

    [Fact]
    public async Task A_visitor_with_no_balance_read_reads_none_when_pages_read_again_after_the_first_connect()
    {
        _hub = await StandInHub.StartAsync(_port);
        var live = NewLiveUpdates();
        var gateway = new ScriptedGateway();
        (var client, _, var redis) = await gateway.SignedInAsync();
        await using var redisConnection = redis;
        using var wallet = new WalletState(client, live, _clock); // the top bar's, which reads no balance for an anonymous visitor
        var reloads = 0;
        live.ReloadNeeded += () => Interlocked.Increment(ref reloads); // a channel page that read its pools

        await live.EnsureStartedAsync();

        Assert.Equal(1, reloads);
        Assert.False(await Eventually.HoldsAsync(() => Task.FromResult(gateway.Requests.Contains("/api/users/me/wallet")), TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public async Task A_visitor_who_is_not_signed_in_connects_anonymously_with_no_token()
    {
        await ConnectedAsync();

        Assert.DoesNotContain(_hub!.Requests, r => r.Contains("Bearer", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_signed_in_players_valid_token_is_handed_to_the_hub()
    {
        _hub = await StandInHub.StartAsync(_port);
        var users = new ScriptedGateway();
        await using var redis = await RedisAsync();
        var (session, _, _) = await users.SessionAsync(redis, DateTimeOffset.UtcNow.AddMinutes(10));
        var live = NewLiveUpdates(session);

        await live.EnsureStartedAsync();

        Assert.Equal(LiveStatus.Live, live.Status);
        Assert.Equal(["GET /hubs/live (WebSocket) vouched Bearer access-1"], _hub.Requests);
        Assert.Empty(users.Requests); // minutes to live: no refresh
    }

    [Fact]
    public async Task An_expired_token_users_cannot_refresh_is_never_handed_to_the_hub_and_the_page_is_not_live()
    {
        _hub = await StandInHub.StartAsync(_port);
        var users = new ScriptedGateway();
        users.Refuse(TokenRefresh, 503, ApiProblem.Unavailable); // Users (or the gateway's budget) out of reach
        await using var redis = await RedisAsync();
        var (session, _, _) = await users.SessionAsync(redis, DateTimeOffset.UtcNow.AddMinutes(-1)); // expired while the tab slept
        var live = NewLiveUpdates(session);

        var starting = live.EnsureStartedAsync();

        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(live.Status == LiveStatus.Offline), Within), $"Status: {live.Status}");
        Assert.Contains(TokenRefresh, users.Requests);
        Assert.Empty(_hub.Requests); // the attempt failed before any request: the expired token never left

        // Users answers again: a later attempt connects with the fresh token.
        var fresh = Refreshed();
        users.Answer(TokenRefresh, fresh);
        Assert.True(await Eventually.HoldsAsync(() =>
        {
            _clock.Advance(TimeSpan.FromSeconds(15)); // the next attempt
            return Task.FromResult(live.Status == LiveStatus.Live);
        }, Within));
        await starting;
        Assert.Equal([$"GET /hubs/live (WebSocket) vouched Bearer {fresh.AccessToken}"], _hub.Requests);
    }

    [Fact]
    public async Task A_reconnect_whose_token_expired_while_users_cannot_refresh_it_stays_connecting_until_users_answers()
    {
        _hub = await StandInHub.StartAsync(_port);
        var users = new ScriptedGateway();
        await using var redis = await RedisAsync();
        var (session, tokens, sessionId) = await users.SessionAsync(redis, DateTimeOffset.UtcNow.AddMinutes(10));
        var live = NewLiveUpdates(session);
        await live.EnsureStartedAsync();

        // The token expired meanwhile, Users is out of reach, and Realtime restarts.
        var stored = (await tokens.GetAsync(sessionId))!;
        await tokens.SaveAsync(sessionId, stored with { AccessExpiresAt = DateTimeOffset.UtcNow.AddMinutes(-1) });
        users.Refuse(TokenRefresh, 503, ApiProblem.Unavailable);
        _hub.BreakConnections();

        // Attempt after attempt asks Users (twice each) and fails without a request to the hub: never "Live" meanwhile.
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(users.Requests.Count(r => r == TokenRefresh) >= 4), Reconnecting),
            $"Refreshes: {users.Requests.Count(r => r == TokenRefresh)}, status: {live.Status}");
        Assert.Equal(LiveStatus.Connecting, live.Status);
        Assert.Single(_hub.Requests); // the first connection's

        var fresh = Refreshed();
        users.Answer(TokenRefresh, fresh);
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(live.Status == LiveStatus.Live), Reconnecting));
        Assert.Equal($"GET /hubs/live (WebSocket) vouched Bearer {fresh.AccessToken}", _hub.Requests[^1]);
    }

    [Fact]
    public async Task A_hub_answering_401_is_tried_again_at_start_and_on_reconnect_until_it_takes_the_connection()
    {
        _hub = await StandInHub.StartAsync(_port);
        _hub.RefusesConnections = true;
        var live = NewLiveUpdates();

        var starting = live.EnsureStartedAsync();
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(live.Status == LiveStatus.Offline), Within));
        Assert.True(await Eventually.HoldsAsync(() =>
        {
            _clock.Advance(TimeSpan.FromSeconds(15)); // the next attempt
            return Task.FromResult(_hub.Requests.Count >= 2);
        }, Within));
        _hub.RefusesConnections = false;
        Assert.True(await Eventually.HoldsAsync(() =>
        {
            _clock.Advance(TimeSpan.FromSeconds(15));
            return Task.FromResult(live.Status == LiveStatus.Live);
        }, Within));
        await starting;

        // The connection breaks and Realtime refuses the reconnects for a while: the client keeps trying, showing "connecting".
        var before = _hub.Requests.Count;
        _hub.RefusesConnections = true;
        _hub.BreakConnections();
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(_hub.Requests.Count >= before + 2), Reconnecting));
        Assert.Equal(LiveStatus.Connecting, live.Status);
        _hub.RefusesConnections = false;
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(live.Status == LiveStatus.Live), Reconnecting));
    }

    [Fact]
    public async Task A_reconnect_refused_401_carries_a_token_refreshed_at_once_on_the_next_attempt_not_the_refused_one_again()
    {
        _hub = await StandInHub.StartAsync(_port);
        var users = new ScriptedGateway();
        await using var redis = await RedisAsync();
        var (session, _, _) = await users.SessionAsync(redis, DateTimeOffset.UtcNow.AddMinutes(10));
        var ended = 0;
        session.Ended += () => Interlocked.Increment(ref ended);
        var live = NewLiveUpdates(session);
        await live.EnsureStartedAsync();
        var fresh = Refreshed();
        users.Answer(TokenRefresh, fresh);
        var releaseRefresh = users.Hold(TokenRefresh);

        // Realtime refuses the token, minutes before it expires: the next attempt asks Users for a fresh one at once.
        _hub.RefusesConnections = true;
        _hub.BreakConnections();
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(users.Requests.Contains(TokenRefresh)), Reconnecting),
            $"Hub requests: {string.Join("; ", _hub.Requests)}");
        _hub.RefusesConnections = false;
        releaseRefresh();

        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(live.Status == LiveStatus.Live), Reconnecting));
        Assert.Equal(
            ["GET /hubs/live (WebSocket) vouched Bearer access-1", "GET /hubs/live (WebSocket) vouched Bearer access-1", $"GET /hubs/live (WebSocket) vouched Bearer {fresh.AccessToken}"],
            _hub.Requests);
        Assert.Equal(1, users.Requests.Count(r => r == TokenRefresh));
        Assert.Equal(0, Volatile.Read(ref ended));
    }

    [Fact]
    public async Task A_reconnect_refused_401_for_a_session_ended_elsewhere_signs_the_player_out_and_stops_trying()
    {
        _hub = await StandInHub.StartAsync(_port);
        var users = new ScriptedGateway();
        await using var redis = await RedisAsync();
        var (session, tokens, sessionId) = await users.SessionAsync(redis, DateTimeOffset.UtcNow.AddMinutes(10));
        var ended = 0;
        session.Ended += () => Interlocked.Increment(ref ended);
        var live = NewLiveUpdates(session);
        await live.EnsureStartedAsync();

        // A logout on another device: Realtime drops the session's connection and refuses its token, Users its refresh.
        users.Refuse(TokenRefresh, 401, ApiProblem.SignedOut);
        _hub.RefusesConnections = true;
        _hub.BreakConnections();

        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(Volatile.Read(ref ended) == 1), Reconnecting),
            $"Hub requests: {string.Join("; ", _hub.Requests)}; Users: {string.Join("; ", users.Requests)}");
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(live.Status == LiveStatus.Offline), Within));
        Assert.Null(await tokens.GetAsync(sessionId));
        // No attempt follows, by the reconnects (2.5-7.5 s after the last, on the real clock) or by a new start.
        Assert.False(await Eventually.HoldsAsync(() =>
        {
            _clock.Advance(TimeSpan.FromSeconds(15));
            return Task.FromResult(_hub.Requests.Count > 2 || users.Requests.Count > 1);
        }, TimeSpan.FromSeconds(8)), $"Hub requests: {string.Join("; ", _hub.Requests)}; Users: {string.Join("; ", users.Requests)}");
        Assert.Equal(LiveStatus.Offline, live.Status);
        Assert.Equal(1, Volatile.Read(ref ended));
    }

    [Fact]
    public async Task After_the_hub_closes_the_connection_the_first_attempt_waits_a_moment_so_a_replicas_circuits_do_not_start_at_once()
    {
        var live = await ConnectedAsync();

        _hub!.DropConnections();

        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(live.Status == LiveStatus.Offline), Within));
        Assert.False(await Eventually.HoldsAsync(() => Task.FromResult(_hub.Requests.Count > 1), TimeSpan.FromSeconds(1)));
        await ReconnectedAsync(live);
        Assert.Equal(2, _hub.Requests.Count);
    }

    /// <summary>After the hub closed the connection: waits for it to be noticed, then moves the clock on until it is Live again.</summary>
    private async Task ReconnectedAsync(LiveUpdates live)
    {
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(live.Status != LiveStatus.Live), Within));
        Assert.True(await Eventually.HoldsAsync(() =>
        {
            _clock.Advance(TimeSpan.FromSeconds(2)); // the first attempt's wait, at most
            return Task.FromResult(live.Status == LiveStatus.Live);
        }, Within));
    }

    private const string TokenRefresh = "/api/users/token/refresh";

    /// <summary>Reconnect attempts wait on the real clock (SignalR's own), up to 15 s apart once several failed.</summary>
    private static readonly TimeSpan Reconnecting = TimeSpan.FromSeconds(40);

    private static async Task<IConnectionMultiplexer> RedisAsync() =>
        await ConnectionMultiplexer.ConnectAsync((await TestServers.RedisAsync()).ConnectionString);

    /// <summary>What Users answers a refresh: a new access token (a JWT, as the app reads its name) for 15 minutes.</summary>
    private static TokenResponse Refreshed()
    {
        var expiresAt = DateTimeOffset.UtcNow.AddMinutes(15);
        var accessToken = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Claims = new Dictionary<string, object> { ["name"] = "Ana" },
            Expires = expiresAt.UtcDateTime,
        });
        return new TokenResponse(accessToken, "Bearer", 900, expiresAt, "refresh-2", DateTimeOffset.UtcNow.AddDays(1), Guid.NewGuid(), "player");
    }

    private async Task<LiveUpdates> ConnectedAsync()
    {
        _hub = await StandInHub.StartAsync(_port);
        var live = NewLiveUpdates();
        await live.EnsureStartedAsync();
        Assert.Equal(LiveStatus.Live, live.Status);
        return live;
    }

    /// <param name="session">The signed-in player's; a visitor who is not signed in by default.</param>
    private LiveUpdates NewLiveUpdates(UserSession? session = null)
    {
        var address = new LiveHubAddress(new ConfigurationBuilder().AddInMemoryCollection(
            [new("Gateway:Url", $"http://127.0.0.1:{_port}"), new(FrontEndVouching.KeySetting, "front-end-key")]).Build());
        _live = new LiveUpdates(address, session ?? new UserSession(new Anonymous(), tokens: null!), _clock, NullLogger<LiveUpdates>.Instance);
        _live.OddsChanged += Record;
        _live.PoolStateChanged += Record;
        _live.WalletChanged += Record;
        _live.BetSettled += Record;
        return _live;
    }

    private void Record(LiveMessage message)
    {
        lock (_raised)
        {
            _raised.Add(message);
        }
    }

    private string Sequences()
    {
        lock (_raised)
        {
            return "Raised: " + string.Join(", ", _raised.Select(m => m.Sequence));
        }
    }

    /// <summary>Whether exactly these were raised, in this order (waiting a moment for the last, and for any extra).</summary>
    private async Task<bool> RaisedAsync(params long[] sequences)
    {
        bool Exactly()
        {
            lock (_raised)
            {
                return _raised.Select(m => m.Sequence).SequenceEqual(sequences);
            }
        }
        return await Eventually.HoldsAsync(() => Task.FromResult(Exactly()), Within) && !await Eventually.HoldsAsync(() => Task.FromResult(!Exactly()), TimeSpan.FromMilliseconds(200));
    }

    private static OddsChangedMessage Odds(Guid pool, long sequence) =>
        new(pool, sequence * 100, [], DateTimeOffset.UnixEpoch.AddSeconds(sequence)) { Stream = $"pool:{pool}", Sequence = sequence };

    private static WalletChangedMessage Wallet(long balance, long sequence) =>
        new(balance, balance, "deposit", DateTimeOffset.UnixEpoch.AddSeconds(sequence)) { Stream = "user", Sequence = sequence };

    private static PoolStateChangedMessage State(Guid pool, long sequence, string state) =>
        new(pool, state, [], DateTimeOffset.UnixEpoch.AddSeconds(sequence)) { Stream = $"pool:{pool}", Sequence = sequence };

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_live is not null)
        {
            await _live.DisposeAsync();
        }
        if (_hub is not null)
        {
            await _hub.DisposeAsync();
        }
    }

    private sealed class Anonymous : AuthenticationStateProvider
    {
        public override Task<AuthenticationState> GetAuthenticationStateAsync() => Task.FromResult(new AuthenticationState(new ClaimsPrincipal()));
    }
}
