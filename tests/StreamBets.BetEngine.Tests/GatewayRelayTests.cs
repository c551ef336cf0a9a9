using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StreamBets.BetEngine.Apis;
using StreamBets.BetEngine.Placement;
using StreamBets.BetEngine.Pools;
using StreamBets.Contracts.Bets;
using StreamBets.Gateway.Bets;
using StreamBets.Testing;

namespace StreamBets.BetEngine.Tests;

/// <summary>
/// Players' <c>POST /api/bets</c> reach the Bet Engine through the Gateway's relay (one RelayRestBets stream over gRPC):
/// the answer must be the Bet Engine's own, bets must travel together under load, and a stream that breaks must tell
/// the player how to learn what happened.
/// </summary>
[Collection(StackCollection.Name)]
public sealed partial class GatewayRelayTests(BetEngineStack stack)
{
    [Fact]
    public async Task Every_answer_through_the_gateway_is_the_one_the_bet_engine_gives_directly()
    {
        var pool = await stack.NewPoolAsync(minStakeMinor: 100, maxStakeMinor: 5_000);
        var direct = await stack.NewPlayerAsync();
        var relayed = await stack.NewPlayerAsync();
        using var directClient = stack.BetClient(direct);
        using var relayedClient = stack.GatewayClient(relayed);
        var key = Guid.NewGuid().ToString();
        var bet = Json(new { poolId = pool.Id, outcomeId = pool.Outcomes[0], stakeMinor = 250 });

        var cases = new (string Name, Func<HttpRequestMessage> Request)[]
        {
            ("accepted", () => Post(bet, key)),
            ("replayed", () => Post(bet, key)),
            ("key reused with another stake", () => Post(Json(new { poolId = pool.Id, outcomeId = pool.Outcomes[0], stakeMinor = 300 }), key)),
            ("second outcome", () => Post(Json(new { poolId = pool.Id, outcomeId = pool.Outcomes[1], stakeMinor = 250 }), Guid.NewGuid().ToString())),
            ("stake out of range", () => Post(Json(new { poolId = pool.Id, outcomeId = pool.Outcomes[0], stakeMinor = 99 }), Guid.NewGuid().ToString())),
            ("unknown pool", () => Post(Json(new { poolId = Guid.NewGuid(), outcomeId = pool.Outcomes[0], stakeMinor = 250 }), Guid.NewGuid().ToString())),
            ("no idempotency key", () => Post(bet, key: null)),
            ("blank idempotency key", () => Post(bet, key: "")),
            ("idempotency key too long", () => Post(bet, new string('k', 101))),
            ("missing fields", () => Post(Json(new { poolId = pool.Id }), Guid.NewGuid().ToString())),
            ("malformed JSON", () => Post(new StringContent("{\"poolId\": \"" + pool.Id + "\", \"stakeMinor\": \"ten\"}", Encoding.UTF8, "application/json"), Guid.NewGuid().ToString())),
            ("empty body", () => Post(new StringContent("", Encoding.UTF8, "application/json"), Guid.NewGuid().ToString())),
        };

        foreach (var (name, request) in cases)
        {
            using var viaBetEngine = await directClient.SendAsync(request());
            using var viaGateway = await relayedClient.SendAsync(request());

            var expected = await AnswerAsync(viaBetEngine);
            var actual = await AnswerAsync(viaGateway);
            Assert.True(expected == actual, $"{name}:\n  Bet Engine: {expected}\n  Gateway:    {actual}");
        }
        // A body that is not JSON is 415 both ways; the Gateway's problem also says what was expected (routing refuses it
        // at the Bet Engine's own route, before the endpoint could say more).
        var notJson = () => Post(new StringContent("stake=250", Encoding.UTF8, "text/plain"), Guid.NewGuid().ToString());
        using var notJsonDirect = await directClient.SendAsync(notJson());
        using var notJsonRelayed = await relayedClient.SendAsync(notJson());
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, notJsonDirect.StatusCode);
        Assert.Equal("application/problem+json", notJsonDirect.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, notJsonRelayed.StatusCode);
        using var problem = JsonDocument.Parse(await notJsonRelayed.Content.ReadAsStringAsync());
        Assert.StartsWith("Expected a supported JSON media type but got \"text/plain", problem.RootElement.GetProperty("detail").GetString());

        Assert.Equal(250, 100_000 - await stack.BalanceAsync(relayed.Account));
        Assert.Equal(500, await stack.BalanceAsync(pool.Escrow));
    }

    [Fact]
    public async Task A_body_too_large_to_be_a_bet_is_refused_413_at_the_gateway_and_never_relayed()
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync();
        using var client = stack.GatewayClient(player);
        // Valid JSON padded past the cap: the relay stream every player's bets share must never carry it.
        var padded = "{\"poolId\": \"" + pool.Id + "\", \"outcomeId\": \"" + pool.Outcomes[0] + "\", \"stakeMinor\": 250, \"note\": \""
            + new string('x', RelayedBetsApi.MaxBodyBytes) + "\"}";
        var messagesBefore = stack.RelayMessages.Sent.Count;

        using var sized = await client.SendAsync(Post(new StringContent(padded, Encoding.UTF8, "application/json"), Guid.NewGuid().ToString()));
        var chunkedRequest = Post(new StringContent(padded, Encoding.UTF8, "application/json"), Guid.NewGuid().ToString());
        chunkedRequest.Headers.TransferEncodingChunked = true;
        using var chunked = await client.SendAsync(chunkedRequest);

        foreach (var refused in new[] { sized, chunked })
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, refused.StatusCode);
            Assert.Equal("https://streambets.dev/problems/request-too-large", await refused.ProblemTypeAsync());
        }
        Assert.Equal(messagesBefore, stack.RelayMessages.Sent.Count);
        using var placed = await client.PlaceAsync(pool, pool.Outcomes[0], 250);
        Assert.Equal(HttpStatusCode.Created, placed.StatusCode);
        Assert.Equal(250, await stack.BalanceAsync(pool.Escrow));
    }

    [Fact]
    public async Task An_idempotency_key_the_bet_engine_would_refuse_is_refused_400_at_the_gateway_and_never_relayed()
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync();
        using var client = stack.GatewayClient(player);
        var messagesBefore = stack.RelayMessages.Sent.Count;

        // Kestrel takes 32 KB of headers: some 135 bets with such keys in one relay message would pass gRPC's 4 MB
        // limit and fail the stream, and every bet on it.
        using var refused = await client.SendAsync(Post(Json(new { poolId = pool.Id, outcomeId = pool.Outcomes[0], stakeMinor = 250 }), new string('k', 20_000)));

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        using var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
        Assert.Equal(BetRequests.Problem("invalid-request"), problem.RootElement.GetProperty("type").GetString());
        Assert.Contains("1 to 100 characters", problem.RootElement.GetProperty("errors").GetProperty(BetsApi.IdempotencyKeyHeader)[0].GetString());
        Assert.Equal(messagesBefore, stack.RelayMessages.Sent.Count);
        Assert.Equal(0, await stack.ScalarAsync("SELECT count(*) FROM bets WHERE pool_id = $1", pool.Id));
    }

    [Fact]
    public async Task A_repeated_idempotency_key_header_is_refused_400_at_the_gateway_and_never_relayed()
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync();
        var messagesBefore = stack.RelayMessages.Sent.Count;

        // Two keys name no one bet (joined with a comma, they used to be relayed as one key).
        var answer = await RawPostAsync(player, "/api/bets", JsonSerializer.Serialize(new { poolId = pool.Id, outcomeId = pool.Outcomes[0], stakeMinor = 250 }),
            $"{BetsApi.IdempotencyKeyHeader}: first", $"{BetsApi.IdempotencyKeyHeader}: second");

        Assert.StartsWith("HTTP/1.1 400 ", answer);
        Assert.Contains(BetRequests.Problem("invalid-request"), answer);
        Assert.Equal(messagesBefore, stack.RelayMessages.Sent.Count);
        Assert.Equal(0, await stack.ScalarAsync("SELECT count(*) FROM bets WHERE pool_id = $1", pool.Id));
    }

    [Fact]
    public async Task A_repeated_idempotency_key_header_on_a_proxied_route_is_refused_400_at_the_gateway()
    {
        var admin = new TestPlayer(Guid.NewGuid(), BetEngineStack.Token(Guid.NewGuid(), AuthenticationDefaults.Roles.Admin));
        var channel = $"chan-{Guid.NewGuid():N}";
        var body = JsonSerializer.Serialize(InProcessServices.NewPoolRequest(2, 100, 10_000, channelId: channel));

        // Proxied, the two keys would reach Pools joined on one line ("first, second"): a key of its own, a pool opened.
        var refused = await RawPostAsync(admin, "/api/pools", body, $"{BetsApi.IdempotencyKeyHeader}: first", $"{BetsApi.IdempotencyKeyHeader}: second");
        var opened = await RawPostAsync(admin, "/api/pools", body, $"{BetsApi.IdempotencyKeyHeader}: first");

        Assert.StartsWith("HTTP/1.1 400 ", refused);
        Assert.Contains(BetRequests.Problem("invalid-request"), refused);
        Assert.Contains("per request, not 2", refused);
        Assert.StartsWith("HTTP/1.1 201 ", opened); // the route is proxied: the refusal was the Gateway's
        using var live = await stack.PoolsHttp.GetAsync($"/api/pools/live?channel=twitch:{channel}");
        Assert.Single(JsonDocument.Parse(await live.Content.ReadAsStringAsync()).RootElement.EnumerateArray());
    }

    [Fact]
    public async Task A_content_type_too_long_to_name_json_is_refused_415_at_the_gateway_and_never_relayed()
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync();
        using var client = stack.GatewayClient(player);
        var content = Json(new { poolId = pool.Id, outcomeId = pool.Outcomes[0], stakeMinor = 250 });
        content.Headers.Remove("Content-Type");
        // JSON to the Bet Engine, which would also repeat it in a 415's detail: 30 KB on the way there and back.
        content.Headers.TryAddWithoutValidation("Content-Type", "application/json; profile=" + new string('p', 30_000));
        var messagesBefore = stack.RelayMessages.Sent.Count;

        using var refused = await client.SendAsync(Post(content, Guid.NewGuid().ToString()));

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.Equal(messagesBefore, stack.RelayMessages.Sent.Count);
        Assert.Equal(0, await stack.ScalarAsync("SELECT count(*) FROM bets WHERE pool_id = $1", pool.Id));
    }

    [Fact]
    public async Task A_front_ends_tracestate_over_the_w3c_limit_is_not_carried_into_the_relay_stream()
    {
        using var betEngineSpans = new RecordedActivities(BetBatchPipeline.ActivitySource.Name);
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync();
        await using var gateway = GatewayTraceContextTests.StartGatewayTrustingAFrontEnd(stack);
        using var frontEnd = gateway.CreateClient();
        var bet = new { poolId = pool.Id, outcomeId = pool.Outcomes[0], stakeMinor = 100 };
        var usual = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7";
        var oversized = string.Join(",", Enumerable.Range(0, 30).Select(i => $"v{i}=" + new string('x', 250))); // 30 members: valid, 7.6 KB

        // The bet's span in the Bet Engine takes its parent's trace and tracestate from the relayed bet.
        async Task<Activity> RelayedSpanAsync(string tracestate)
        {
            var traceId = ActivityTraceId.CreateRandom();
            using var request = FrontEndsTracedBet(player, bet, traceId, tracestate);
            using var answer = await frontEnd.SendAsync(request);
            Assert.Equal(HttpStatusCode.Created, answer.StatusCode);
            return await BetEngineSpanOfAsync(betEngineSpans, traceId); // the trace still continues
        }

        Assert.Equal(usual, (await RelayedSpanAsync(usual)).TraceStateString);
        Assert.InRange((await RelayedSpanAsync(oversized)).TraceStateString?.Length ?? 0, 0, 512);
    }

    [Fact]
    public async Task Only_a_player_with_a_valid_token_gets_a_bet_through_the_gateway()
    {
        var pool = await stack.NewPoolAsync();
        var streamer = new TestPlayer(Guid.NewGuid(), BetEngineStack.Token(Guid.NewGuid(), AuthenticationDefaults.Roles.Streamer));
        var bet = Json(new { poolId = pool.Id, outcomeId = pool.Outcomes[0], stakeMinor = 250 });
        using var anonymous = stack.GatewayClient(null);
        using var asStreamer = stack.GatewayClient(streamer);
        var messagesBefore = stack.RelayMessages.Sent.Count;

        using var noToken = await anonymous.SendAsync(Post(bet, Guid.NewGuid().ToString()));
        using var notAPlayer = await asStreamer.SendAsync(Post(bet, Guid.NewGuid().ToString()));

        Assert.Equal(HttpStatusCode.Unauthorized, noToken.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, notAPlayer.StatusCode);
        Assert.Equal(messagesBefore, stack.RelayMessages.Sent.Count);
        Assert.Equal(0, await stack.BetsOfPoolAsync(pool.Id, "accepted"));
    }

    [Fact]
    public async Task A_rush_through_the_gateway_travels_in_a_few_messages_and_every_player_gets_their_own_bet()
    {
        var pool = await stack.NewPoolAsync();
        var players = await stack.NewPlayersAsync(200);
        var clients = players.Select(stack.GatewayClient).ToArray();
        var messagesBefore = stack.RelayMessages.Sent.Count;
        var betsPerMessage = new List<int>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == BetRelay.MeterName && instrument.Name == "streambets.gateway.relayed_bets_per_message")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<int>((_, value, _, _) => { lock (betsPerMessage) { betsPerMessage.Add(value); } });
        listener.Start();

        var answers = await Task.WhenAll(clients.Select((client, i) => client.PlaceAsync(pool, pool.Outcomes[i % 2], 100 + i)));

        var bets = await Task.WhenAll(answers.Select(answer => answer.BetAsync()));
        Assert.Equal(players.Length, bets.Select(b => b.BetId).Distinct().Count());
        Assert.Equal(Enumerable.Range(0, players.Length).Select(i => 100L + i), bets.Select(b => b.StakeMinor));
        Assert.Equal(bets.Sum(b => b.StakeMinor), await stack.BalanceAsync(pool.Escrow));
        var messages = stack.RelayMessages.Sent.Skip(messagesBefore).ToList();
        Assert.Equal(players.Length, messages.Sum(message => message.Bets.Count));
        Assert.InRange(messages.Count, 1, players.Length / 2);
        Assert.Contains(messages, message => message.Bets.Count > 1);
        // SREs see the same groups in the Gateway's metrics.
        lock (betsPerMessage)
        {
            Assert.Equal(messages.Select(message => message.Bets.Count).Order(), betsPerMessage.Order());
        }
        foreach (var client in clients)
        {
            client.Dispose();
        }
        await stack.AssertLedgerExactAsync();
    }

    [Theory]
    [InlineData(false)] // the stream broke before the Bet Engine saw the bet
    [InlineData(true)]  // the Bet Engine placed the bet, and the stream broke before its answer came back
    public async Task A_broken_stream_tells_the_player_to_send_it_again_and_the_retry_places_the_bet_once(bool betEngineActedOnIt)
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync();
        using var client = stack.GatewayClient(player);
        var key = Guid.NewGuid().ToString();
        if (betEngineActedOnIt)
        {
            stack.RelayMessages.LoseNextAnswer();
        }
        else
        {
            stack.RelayMessages.FailNext();
        }

        using var failed = await client.PlaceAsync(pool, pool.Outcomes[0], 400, key);
        using var retried = await client.PlaceAsync(pool, pool.Outcomes[0], 400, key);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
        Assert.Equal("application/problem+json", failed.Content.Headers.ContentType?.MediaType);
        Assert.Equal(BetRequests.Problem(BetRejectionCodes.DependencyUnavailable), await failed.ProblemTypeAsync());
        Assert.Equal(TimeSpan.FromSeconds(1), failed.Headers.RetryAfter?.Delta);
        Assert.Equal(HttpStatusCode.Created, retried.StatusCode);
        Assert.Equal(betEngineActedOnIt, retried.Headers.Contains(BetsApi.ReplayedHeader));
        var bet = await retried.BetAsync();
        Assert.Equal(1, await stack.ScalarAsync("SELECT count(*) FROM bets WHERE pool_id = $1", pool.Id));
        Assert.Equal(1, await stack.ScalarAsync("SELECT count(*) FROM bets WHERE bet_id = $1 AND status = 'accepted'", bet.BetId));
        Assert.Equal(400, await stack.BalanceAsync(pool.Escrow));
        Assert.Equal(100_000 - 400, await stack.BalanceAsync(player.Account));
        await stack.AssertLedgerExactAsync();
    }

    [Fact]
    public async Task A_bet_the_bet_engine_holds_past_the_deadline_is_answered_503_and_the_retry_places_it_once()
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync();
        var next = await stack.NewPlayerAsync();
        using var client = stack.GatewayClient(player);
        using var nextClient = stack.GatewayClient(next);
        var key = Guid.NewGuid().ToString();
        long toldToRetry = 0;
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == BetRelay.MeterName && instrument.Name == "streambets.gateway.relayed_bets_unanswered")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref toldToRetry, value));
        listener.Start();
        // The Bet Engine takes the stake and then hangs on the ledger's answer: it neither answers nor fails.
        using var hold = stack.StakeHold.Arm(pool.Id);

        var waited = Stopwatch.StartNew();
        using var late = await client.PlaceAsync(pool, pool.Outcomes[0], 400, key);
        waited.Stop();

        Assert.True(hold.Reached.IsCompleted, "The bet never reached the ledger.");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, late.StatusCode);
        Assert.Equal(BetRequests.Problem(BetRejectionCodes.DependencyUnavailable), await late.ProblemTypeAsync());
        Assert.Equal(TimeSpan.FromSeconds(1), late.Headers.RetryAfter?.Delta);
        Assert.InRange(waited.Elapsed, BetEngineStack.RelayAnswerDeadline - TimeSpan.FromMilliseconds(100), BetEngineStack.RelayAnswerDeadline * 3);
        Assert.Equal(1, Interlocked.Read(ref toldToRetry));
        var streamsBefore = stack.RelayMessages.StreamsOpened;

        // The Bet Engine comes back and finishes the bet; the retry learns its result, and nothing moved twice.
        hold.Release();
        Assert.True(await BetEngineStack.EventuallyAsync(async () =>
            await stack.ScalarAsync("SELECT count(*) FROM bets WHERE pool_id = $1 AND status = 'accepted'", pool.Id) == 1));
        using var retried = await client.PlaceAsync(pool, pool.Outcomes[0], 400, key);
        Assert.Equal(HttpStatusCode.Created, retried.StatusCode);
        Assert.Equal("true", retried.Headers.GetValues(BetsApi.ReplayedHeader).Single());
        Assert.Equal(1, await stack.ScalarAsync("SELECT count(*) FROM bets WHERE pool_id = $1", pool.Id));
        Assert.Equal(400, await stack.BalanceAsync(pool.Escrow));
        Assert.Equal(100_000 - 400, await stack.BalanceAsync(player.Account));

        // The stalled stream was dropped: the retry opened another, which the next bets share.
        using var placed = await nextClient.PlaceAsync(pool, pool.Outcomes[1], 300);
        Assert.Equal(HttpStatusCode.Created, placed.StatusCode);
        Assert.Equal(streamsBefore + 1, stack.RelayMessages.StreamsOpened);
        Assert.Equal(700, await stack.BalanceAsync(pool.Escrow));
        await stack.AssertLedgerExactAsync();
    }

    [Fact]
    public async Task A_bet_still_queued_when_the_gateway_gives_up_on_it_is_never_placed_and_its_retry_after_the_lock_is_refused()
    {
        var pool = await stack.NewPoolAsync();
        var (first, queued) = (await stack.NewPlayerAsync(), await stack.NewPlayerAsync());
        using var firstClient = stack.GatewayClient(first);
        using var queuedClient = stack.GatewayClient(queued);
        var key = Guid.NewGuid().ToString();
        using var hold = stack.StakeHold.Arm(pool.Id);
        try
        {
            var held = firstClient.PlaceAsync(pool, pool.Outcomes[0], 400);
            await hold.Reached.WaitAsync(TimeSpan.FromSeconds(30));

            // This bet queues behind the held batch; the Gateway gives up on both at its deadline and drops the stream.
            using (var unanswered = await queuedClient.PlaceAsync(pool, pool.Outcomes[1], 300, key))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, unanswered.StatusCode);
            }
            (await held).Dispose();

            // The pool locks while the Bet Engine is still stuck. The player was told to retry, and the retry is judged
            // afresh: nothing of the bet was written, so it is refused, and it must stay refused.
            await stack.LockPoolAsync(pool.Id);
            var directory = stack.BetEngine.GetRequiredService<IPoolDirectory>();
            Assert.True(await BetEngineStack.EventuallyAsync(async () => (await directory.GetAsync(pool.Id, default))!.State == PoolState.Locked));
            using var refused = await queuedClient.PlaceAsync(pool, pool.Outcomes[1], 300, key);
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
            Assert.Equal(BetRequests.Problem(BetRejectionCodes.PoolLocked), await refused.ProblemTypeAsync());
        }
        finally
        {
            hold.Release();
        }

        // The held batch finishes; the queued bet, whose caller had gone before any batch wrote it, is not placed.
        Assert.True(await BetEngineStack.EventuallyAsync(async () =>
            await stack.ScalarAsync("SELECT count(*) FROM bets WHERE pool_id = $1 AND status = 'accepted'", pool.Id) == 1));
        await Task.Delay(500); // time enough for a batch that would still write it
        Assert.Equal(0, await stack.ScalarAsync("SELECT count(*) FROM bets WHERE user_id = $1", queued.Id));
        using var again = await queuedClient.PlaceAsync(pool, pool.Outcomes[1], 300, key);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal(400, await stack.BalanceAsync(pool.Escrow));
        Assert.Equal(100_000, await stack.BalanceAsync(queued.Account));
        await stack.AssertLedgerExactAsync();
    }

    [Fact]
    public async Task A_bet_whose_player_leaves_while_it_is_queued_behind_a_batch_is_never_placed_and_its_retry_after_the_lock_is_refused()
    {
        var pool = await stack.NewPoolAsync();
        var (first, leaving) = (await stack.NewPlayerAsync(), await stack.NewPlayerAsync());
        using var firstClient = stack.GatewayClient(first);
        using var leavingClient = stack.GatewayClient(leaving);
        var key = Guid.NewGuid().ToString();
        var batchers = stack.BetEngine.GetRequiredService<PoolBatchers>();
        int streamsBefore;
        using (var hold = stack.StakeHold.Arm(pool.Id))
        {
            var held = firstClient.PlaceAsync(pool, pool.Outcomes[0], 400);
            await hold.Reached.WaitAsync(TimeSpan.FromSeconds(30));
            streamsBefore = stack.RelayMessages.StreamsOpened;

            // The bet queues behind the held batch; its player's client gives up after 1 s, long before the Gateway's
            // deadline would drop the stream.
            using var giveUp = new CancellationTokenSource();
            var placing = leavingClient.SendAsync(Post(Json(new { poolId = pool.Id, outcomeId = pool.Outcomes[1], stakeMinor = 300 }), key), giveUp.Token);
            Assert.True(await BetEngineStack.EventuallyAsync(() => Task.FromResult(batchers.QueuedBets(pool.Id) == 1)), "The bet was never queued.");
            giveUp.CancelAfter(TimeSpan.FromSeconds(1));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => placing);

            // The pool locks while the batch ahead still holds. The retry is judged afresh, and refused: the bet left
            // nothing behind (were it still waiting, the retry would wait for it and be told it was placed).
            await stack.LockPoolAsync(pool.Id);
            var directory = stack.BetEngine.GetRequiredService<IPoolDirectory>();
            Assert.True(await BetEngineStack.EventuallyAsync(async () => (await directory.GetAsync(pool.Id, default))!.State == PoolState.Locked));
            using var refused = await leavingClient.PlaceAsync(pool, pool.Outcomes[1], 300, key);
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
            Assert.Equal(BetRequests.Problem(BetRejectionCodes.PoolLocked), await refused.ProblemTypeAsync());

            hold.Release();
            using var placed = await held;
            Assert.Equal(HttpStatusCode.Created, placed.StatusCode);
        }

        // The held batch finished and the one after it had nothing of the bet to write: no row, no stake moved, and the
        // refusal stands. Only that bet was cancelled: the stream it shared goes on.
        await Task.Delay(500); // time enough for a batch that would still write it
        Assert.Equal(0, await stack.ScalarAsync("SELECT count(*) FROM bets WHERE user_id = $1", leaving.Id));
        using var again = await leavingClient.PlaceAsync(pool, pool.Outcomes[1], 300, key);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal(streamsBefore, stack.RelayMessages.StreamsOpened);
        Assert.Equal(100_000, await stack.BalanceAsync(leaving.Account));
        Assert.Equal(400, await stack.BalanceAsync(pool.Escrow));
        await stack.AssertLedgerExactAsync();
    }

    [Fact]
    public async Task A_bet_whose_player_leaves_after_its_batch_took_it_is_placed_and_its_answer_replayed_to_the_retry()
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync();
        using var client = stack.GatewayClient(player);
        var key = Guid.NewGuid().ToString();
        int streamsBefore;
        using (var hold = stack.StakeHold.Arm(pool.Id))
        {
            // The batch has written the bet and moved its stake when the player's client gives up.
            using var giveUp = new CancellationTokenSource();
            var placing = client.SendAsync(Post(Json(new { poolId = pool.Id, outcomeId = pool.Outcomes[0], stakeMinor = 400 }), key), giveUp.Token);
            await hold.Reached.WaitAsync(TimeSpan.FromSeconds(30));
            streamsBefore = stack.RelayMessages.StreamsOpened;
            var messagesBefore = stack.RelayMessages.Sent.Count;
            giveUp.CancelAfter(TimeSpan.FromSeconds(1));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => placing);
            // The cancel goes alone, in a message without bets.
            Assert.True(await BetEngineStack.EventuallyAsync(() => Task.FromResult(stack.RelayMessages.Sent.Skip(messagesBefore).Any(message => message.Bets.Count == 0))),
                "The Gateway never cancelled the bet.");
        }

        // The cancel changed nothing: the bet completes, and the retry learns its result.
        Assert.True(await BetEngineStack.EventuallyAsync(async () =>
            await stack.ScalarAsync("SELECT count(*) FROM bets WHERE user_id = $1 AND status = 'accepted'", player.Id) == 1));
        using var retried = await client.PlaceAsync(pool, pool.Outcomes[0], 400, key);
        Assert.Equal(HttpStatusCode.Created, retried.StatusCode);
        Assert.Equal("true", retried.Headers.GetValues(BetsApi.ReplayedHeader).Single());
        Assert.Equal(streamsBefore, stack.RelayMessages.StreamsOpened);
        Assert.Equal(100_000 - 400, await stack.BalanceAsync(player.Account));
        Assert.Equal(400, await stack.BalanceAsync(pool.Escrow));
        await stack.AssertLedgerExactAsync();
    }

    [Fact]
    public async Task A_write_the_bet_engine_never_takes_is_answered_503_after_the_deadline_and_the_bets_behind_it_go_on_a_new_stream()
    {
        var pool = await stack.NewPoolAsync();
        var (opener, stuck, behind) = (await stack.NewPlayerAsync(), await stack.NewPlayerAsync(), await stack.NewPlayerAsync());
        using var openerClient = stack.GatewayClient(opener);
        using var stuckClient = stack.GatewayClient(stuck);
        using var behindClient = stack.GatewayClient(behind);
        using var opened = await openerClient.PlaceAsync(pool, pool.Outcomes[0], 100);
        Assert.Equal(HttpStatusCode.Created, opened.StatusCode); // the stream is open and has carried a bet
        var streamsBefore = stack.RelayMessages.StreamsOpened;
        var messagesBefore = stack.RelayMessages.Sent.Count;
        var key = Guid.NewGuid().ToString();

        // The Bet Engine stops reading: the next write never completes, and the bet after it queues behind it.
        stack.RelayMessages.HoldNextWrite();
        var stuckPlacing = stuckClient.PlaceAsync(pool, pool.Outcomes[0], 400, key);
        Assert.True(await BetEngineStack.EventuallyAsync(() => Task.FromResult(stack.RelayMessages.Sent.Count > messagesBefore)), "The write was never made.");
        // The bet behind comes half a deadline later, so it still has that long to be answered on the new stream. (A bet
        // with too little time left to be answered there is told to retry: the fake-clock test below pins that, as its
        // margin, an eighth of the deadline, is too thin to hit on a real clock.)
        await Task.Delay(BetEngineStack.RelayAnswerDeadline / 2);
        using var placedBehind = await behindClient.PlaceAsync(pool, pool.Outcomes[1], 300);
        using var late = await stuckPlacing;

        Assert.Equal(HttpStatusCode.ServiceUnavailable, late.StatusCode);
        Assert.Equal(BetRequests.Problem(BetRejectionCodes.DependencyUnavailable), await late.ProblemTypeAsync());
        Assert.Equal(HttpStatusCode.Created, placedBehind.StatusCode);
        Assert.Equal(streamsBefore + 1, stack.RelayMessages.StreamsOpened);
        var messages = stack.RelayMessages.Sent.Skip(messagesBefore).ToList();
        Assert.Equal(2, messages.Count); // the held one, then the bet behind it on the new stream
        Assert.Equal(key, Assert.Single(messages[0].Bets).IdempotencyKey);

        // The held bet never reached the Bet Engine: the retry places it now, once.
        Assert.Equal(0, await stack.ScalarAsync("SELECT count(*) FROM bets WHERE user_id = $1", stuck.Id));
        using var retried = await stuckClient.PlaceAsync(pool, pool.Outcomes[0], 400, key);
        Assert.Equal(HttpStatusCode.Created, retried.StatusCode);
        Assert.False(retried.Headers.Contains(BetsApi.ReplayedHeader));
        Assert.Equal(800, await stack.BalanceAsync(pool.Escrow));
        Assert.Equal(100_000 - 400, await stack.BalanceAsync(stuck.Account));
        await stack.AssertLedgerExactAsync();
    }

    [Fact]
    public async Task A_bet_whose_deadline_passes_while_it_waits_to_be_sent_is_answered_503_and_never_sent()
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync();
        using var channel = stack.BetEngineGrpcChannel();
        var messages = new RecordedCalls<RestBetBatch>();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var relay = new BetRelay(
            new Contracts.Bets.BetEngine.BetEngineClient(channel.Intercept(messages)),
            Options.Create(new BetRelayOptions { AnswerDeadline = TimeSpan.FromSeconds(8) }), time, NullLogger<BetRelay>.Instance);
        var body = ByteString.CopyFromUtf8(JsonSerializer.Serialize(new { poolId = pool.Id, outcomeId = pool.Outcomes[0], stakeMinor = 250 }));
        RestBet Bet(string key) => new() { UserId = player.Id.ToString(), IdempotencyKey = key, HasIdempotencyKey = true, ContentType = "application/json", Body = body };

        // The relay is not taking bets off its queue yet, as when its stream takes no writes: the bet waits unsent.
        var queued = relay.PlaceAsync(Bet("told-to-retry"));
        time.Advance(TimeSpan.FromSeconds(8));
        Assert.Null(await queued.WaitAsync(TimeSpan.FromSeconds(15)));

        // Once the relay runs, the bet the player was told to send again is not placed behind their back; the next is.
        await relay.StartAsync(CancellationToken.None);
        var next = await relay.PlaceAsync(Bet("next")).WaitAsync(TimeSpan.FromSeconds(15));
        await relay.StopAsync(CancellationToken.None);

        Assert.Equal(201, next?.Status);
        Assert.Equal(["next"], messages.Sent.SelectMany(m => m.Bets).Select(b => b.IdempotencyKey));
        Assert.Equal(1, await stack.ScalarAsync("SELECT count(*) FROM bets WHERE user_id = $1", player.Id));
        Assert.Equal(250, await stack.BalanceAsync(pool.Escrow));
        await stack.AssertLedgerExactAsync();
    }

    [Fact]
    public async Task A_bet_with_too_little_time_left_to_be_answered_is_not_sent_and_cannot_drop_the_stream_others_wait_on()
    {
        var pool = await stack.NewPoolAsync();
        var (opener, stuck, rightBehind, behind) = (await stack.NewPlayerAsync(), await stack.NewPlayerAsync(), await stack.NewPlayerAsync(), await stack.NewPlayerAsync());
        using var channel = stack.BetEngineGrpcChannel();
        var messages = new RecordedCalls<RestBetBatch>();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var relay = new BetRelay(
            new Contracts.Bets.BetEngine.BetEngineClient(channel.Intercept(messages)),
            Options.Create(new BetRelayOptions { AnswerDeadline = TimeSpan.FromSeconds(8) }), time, NullLogger<BetRelay>.Instance);
        var body = ByteString.CopyFromUtf8(JsonSerializer.Serialize(new { poolId = pool.Id, outcomeId = pool.Outcomes[0], stakeMinor = 250 }));
        RestBet Bet(TestPlayer player) => new() { UserId = player.Id.ToString(), IdempotencyKey = player.Id.ToString(), HasIdempotencyKey = true, ContentType = "application/json", Body = body };
        await relay.StartAsync(CancellationToken.None);
        StakeHold.Armed? hold = null;
        try
        {
            Assert.Equal(201, (await relay.PlaceAsync(Bet(opener)).WaitAsync(TimeSpan.FromSeconds(15)))?.Status); // stream A is open

            // A's next write never completes; a bet queues behind it 1 ms later, another 4 s later.
            messages.HoldNextWrite();
            var stuckPlacing = relay.PlaceAsync(Bet(stuck));
            Assert.True(await BetEngineStack.EventuallyAsync(() => Task.FromResult(messages.Sent.Count == 2)), "The write was never made.");
            time.Advance(TimeSpan.FromMilliseconds(1));
            var rightBehindPlacing = relay.PlaceAsync(Bet(rightBehind));
            time.Advance(TimeSpan.FromSeconds(4) - TimeSpan.FromMilliseconds(1));
            var behindPlacing = relay.PlaceAsync(Bet(behind));
            // The Bet Engine takes the next bets it is sent and holds them: they stay unanswered on stream B.
            hold = stack.StakeHold.Arm(pool.Id);

            // The stuck bet's deadline drops A; B opens and takes the queued bets.
            time.Advance(TimeSpan.FromSeconds(4));
            Assert.Null(await stuckPlacing.WaitAsync(TimeSpan.FromSeconds(15)));
            await hold.Reached.WaitAsync(TimeSpan.FromSeconds(15));
            // The bet right behind had 1 ms left: its deadline passes with the other bet still unanswered on B.
            time.Advance(TimeSpan.FromMilliseconds(1));
            Assert.Null(await rightBehindPlacing.WaitAsync(TimeSpan.FromSeconds(15)));
            hold.Release();

            // B was not dropped: the bet behind, with 4 s of its deadline left, gets the Bet Engine's answer.
            Assert.Equal(201, (await behindPlacing.WaitAsync(TimeSpan.FromSeconds(15)))?.Status);
            Assert.Equal(
                [[opener.Id.ToString()], [stuck.Id.ToString()], [behind.Id.ToString()]],
                messages.Sent.Select(m => m.Bets.Select(b => b.IdempotencyKey).ToArray()));
        }
        finally
        {
            hold?.Release();
            await relay.StopAsync(CancellationToken.None);
        }
        Assert.Equal(0, await stack.ScalarAsync("SELECT count(*) FROM bets WHERE user_id = $1", rightBehind.Id));
        Assert.Equal(500, await stack.BalanceAsync(pool.Escrow));
        await stack.AssertLedgerExactAsync();
    }

    [Fact]
    public async Task A_stream_retired_for_its_age_answers_the_bets_sent_on_it_while_the_next_stream_takes_new_ones()
    {
        var (heldPool, otherPool) = (await stack.NewPoolAsync(), await stack.NewPoolAsync());
        var (held, next) = (await stack.NewPlayerAsync(), await stack.NewPlayerAsync());
        using var channel = stack.BetEngineGrpcChannel();
        var messages = new RecordedCalls<RestBetBatch>();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var relay = new BetRelay(
            new Contracts.Bets.BetEngine.BetEngineClient(channel.Intercept(messages)),
            Options.Create(new BetRelayOptions { AnswerDeadline = TimeSpan.FromSeconds(8), StreamLifetime = TimeSpan.FromSeconds(2) }),
            time, NullLogger<BetRelay>.Instance);
        static RestBet Bet(TestPlayer player, TestPool pool) => new()
        {
            UserId = player.Id.ToString(), IdempotencyKey = player.Id.ToString(), HasIdempotencyKey = true, ContentType = "application/json",
            Body = ByteString.CopyFromUtf8(JsonSerializer.Serialize(new { poolId = pool.Id, outcomeId = pool.Outcomes[0], stakeMinor = 250 })),
        };
        await relay.StartAsync(CancellationToken.None);
        using var hold = stack.StakeHold.Arm(heldPool.Id);
        try
        {
            // The Bet Engine holds the first bet: it is still unanswered on stream A when A's lifetime ends.
            var heldPlacing = relay.PlaceAsync(Bet(held, heldPool));
            await hold.Reached.WaitAsync(TimeSpan.FromSeconds(15));
            time.Advance(TimeSpan.FromSeconds(2));

            // The next bet goes on a new stream and is answered without waiting for A to drain; A's bet is not told to retry.
            Assert.Equal(201, (await relay.PlaceAsync(Bet(next, otherPool)).WaitAsync(TimeSpan.FromSeconds(15)))?.Status);
            Assert.Equal(2, messages.StreamsOpened);
            Assert.False(heldPlacing.IsCompleted);
            hold.Release();
            Assert.Equal(201, (await heldPlacing.WaitAsync(TimeSpan.FromSeconds(15)))?.Status);
        }
        finally
        {
            hold.Release();
            await relay.StopAsync(CancellationToken.None);
        }
        Assert.Equal(250, await stack.BalanceAsync(heldPool.Escrow));
        Assert.Equal(250, await stack.BalanceAsync(otherPool.Escrow));
        await stack.AssertLedgerExactAsync();
    }

    [Fact]
    public async Task When_the_bet_engine_cannot_be_reached_a_bet_is_answered_503_at_once()
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync();
        // Nothing listens on port 1: every connection is refused at once.
        await using var gateway = stack.StartGateway(new KeyValuePair<string, string?>("services:betengine:grpc:0", "http://127.0.0.1:1"));
        using var client = gateway.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", player.Token);
        // The first bet also pays the fresh Gateway's cold start (JIT, token validation, channel): only the second one
        // is timed. It is refused alike: every bet opens a stream of its own while none can be opened.
        using (var first = await client.PlaceAsync(pool, pool.Outcomes[0], 400))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, first.StatusCode);
            Assert.Equal(BetRequests.Problem(BetRejectionCodes.DependencyUnavailable), await first.ProblemTypeAsync());
        }

        var waited = Stopwatch.StartNew();
        using var refused = await client.PlaceAsync(pool, pool.Outcomes[0], 400);
        waited.Stop();

        // Not held until the answer deadline by retries of a connection that cannot be made.
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal(BetRequests.Problem(BetRejectionCodes.DependencyUnavailable), await refused.ProblemTypeAsync());
        Assert.True(waited.Elapsed < BetEngineStack.RelayAnswerDeadline / 2, $"The bet waited {waited.Elapsed.TotalSeconds:F1} s.");
        Assert.Equal(0, await stack.BetsOfPoolAsync(pool.Id, "accepted"));
    }

    [Fact]
    public async Task When_the_bet_engines_host_vanishes_without_closing_the_connection_bets_go_on_a_new_one_within_seconds()
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync();
        using var betEngine = stack.BetEngineGrpcChannel();
        await using var proxy = SilencingProxy.Start(new Uri("http://" + betEngine.Target));
        await using var gateway = stack.StartGateway(
            new KeyValuePair<string, string?>("services:betengine:grpc:0", proxy.Url),
            new KeyValuePair<string, string?>("BetRelay:AnswerDeadline", BetEngineStack.RelayAnswerDeadline.ToString()));
        using var client = gateway.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", player.Token);
        using (var opened = await client.PlaceAsync(pool, pool.Outcomes[0], 100))
        {
            Assert.Equal(HttpStatusCode.Created, opened.StatusCode); // the stream is open, on one connection
        }

        // The host behind that connection is gone: nothing sent on it arrives, nothing comes back, and nothing closes it.
        // A new connection reaches a healthy Bet Engine.
        proxy.SilenceOpenConnections();
        var key = Guid.NewGuid().ToString();
        var waited = Stopwatch.StartNew();
        var retries = 0;
        HttpResponseMessage placed;
        while ((placed = await client.PlaceAsync(pool, pool.Outcomes[0], 400, key)).StatusCode == HttpStatusCode.ServiceUnavailable
            && waited.Elapsed < TimeSpan.FromSeconds(45))
        {
            placed.Dispose();
            retries++;
        }
        waited.Stop();

        // Without pings the gateway kept opening streams on the dead connection: every bet waited out its deadline, for as
        // long as the OS takes to give up on the connection (some 15 minutes).
        using (placed)
        {
            Assert.Equal(HttpStatusCode.Created, placed.StatusCode);
        }
        Assert.True(waited.Elapsed < TimeSpan.FromSeconds(25), $"The bet was placed after {waited.Elapsed.TotalSeconds:F1} s and {retries} retries.");
        Assert.Equal(2, proxy.ConnectionsAccepted);
        Assert.Equal(500, await stack.BalanceAsync(pool.Escrow));
    }

    [Theory]
    [InlineData("00:00:00")]
    [InlineData("-00:00:01")]
    public void A_gateway_whose_answer_deadline_is_not_positive_refuses_to_start(string deadline)
    {
        // Zero would answer every bet 503 at once: the mistake must stop the deploy, not the players.
        var refused = Assert.ThrowsAny<OptionsValidationException>(() => stack.StartGateway(new KeyValuePair<string, string?>("BetRelay:AnswerDeadline", deadline)));

        Assert.Contains("BetRelay:AnswerDeadline must be positive.", refused.Message);
    }

    [Theory]
    [InlineData("00:00:00")]
    [InlineData("-00:00:01")]
    public void A_gateway_whose_stream_lifetime_is_not_positive_refuses_to_start(string lifetime)
    {
        // Zero would open and retire a stream in a loop, negative would stop the relay: the mistake must stop the deploy.
        var refused = Assert.ThrowsAny<OptionsValidationException>(() => stack.StartGateway(new KeyValuePair<string, string?>("BetRelay:StreamLifetime", lifetime)));

        Assert.Contains("BetRelay:StreamLifetime must be positive.", refused.Message);
    }

    [Fact]
    public async Task A_relayed_bet_naming_a_malformed_user_is_answered_invalid_request_alone_and_the_others_are_placed()
    {
        var pool = await stack.NewPoolAsync();
        using var channel = stack.BetEngineGrpcChannel();
        var client = new Contracts.Bets.BetEngine.BetEngineClient(channel);
        var body = ByteString.CopyFromUtf8(JsonSerializer.Serialize(new { poolId = pool.Id, outcomeId = pool.Outcomes[0], stakeMinor = 250 }));
        var player = await stack.NewPlayerAsync();
        var batch = new Contracts.Bets.RestBetBatch
        {
            Bets =
            {
                new Contracts.Bets.RestBet { RelayId = 7, UserId = player.Id.ToString(), IdempotencyKey = "k1", HasIdempotencyKey = true, ContentType = "application/json", Body = body },
                new Contracts.Bets.RestBet { RelayId = 8, UserId = "not-a-uuid", IdempotencyKey = "k2", HasIdempotencyKey = true, ContentType = "application/json", Body = body },
                new Contracts.Bets.RestBet { RelayId = 9, UserId = player.Id.ToString(), SessionId = "nor-this", IdempotencyKey = "k3", HasIdempotencyKey = true, ContentType = "application/json", Body = body },
            },
        };

        using var call = client.RelayRestBets();
        await call.RequestStream.WriteAsync(batch);
        await call.RequestStream.CompleteAsync();
        var answers = new Dictionary<ulong, Contracts.Bets.RestBetAnswer>();
        while (await call.ResponseStream.MoveNext(CancellationToken.None))
        {
            foreach (var answer in call.ResponseStream.Current.Answers)
            {
                answers.Add(answer.RelayId, answer);
            }
        }

        Assert.Equal([7UL, 8UL, 9UL], answers.Keys.Order());
        Assert.Equal(201, answers[7].Status);
        foreach (var malformed in new[] { answers[8], answers[9] })
        {
            Assert.Equal(400, malformed.Status);
            Assert.Equal("application/problem+json", malformed.ContentType);
            using var problem = JsonDocument.Parse(malformed.Body.Memory);
            Assert.Equal(BetRequests.Problem("invalid-request"), problem.RootElement.GetProperty("type").GetString());
            Assert.Contains("must be UUIDs", problem.RootElement.GetProperty("errors").GetRawText());
        }
        Assert.Equal(1, await stack.ScalarAsync("SELECT count(*) FROM bets WHERE pool_id = $1", pool.Id));
        Assert.Equal(250, await stack.BalanceAsync(pool.Escrow));
    }

    [Fact]
    public async Task A_front_ends_relayed_bet_continues_the_front_ends_trace_into_the_bet_engine()
    {
        using var betEngineSpans = new RecordedActivities(BetBatchPipeline.ActivitySource.Name);
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync();
        await using var gateway = GatewayTraceContextTests.StartGatewayTrustingAFrontEnd(stack);
        using var frontEnd = gateway.CreateClient();
        var traceId = ActivityTraceId.CreateRandom();

        using var request = FrontEndsTracedBet(player, new { poolId = pool.Id, outcomeId = pool.Outcomes[0], stakeMinor = 250 }, traceId);
        using var answer = await frontEnd.SendAsync(request);

        Assert.Equal(HttpStatusCode.Created, answer.StatusCode);
        var relayed = await BetEngineSpanOfAsync(betEngineSpans, traceId);
        Assert.Equal(ActivityKind.Server, relayed.Kind);
        Assert.Equal(201, relayed.GetTagItem("http.response.status_code"));
    }

    /// <summary>
    /// A player's bet as a front end (the web app) sends it: with the front ends' key and the trace its page request
    /// started. Only such a call's trace continues at the Gateway (GatewayTraceContextTests).
    /// </summary>
    private static HttpRequestMessage FrontEndsTracedBet(TestPlayer player, object bet, ActivityTraceId traceId, string? tracestate = null)
    {
        var request = Post(Json(bet), Guid.NewGuid().ToString());
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", player.Token);
        request.Headers.Add(FrontEndVouching.KeyHeader, GatewayTraceContextTests.FrontEndKey);
        request.Headers.TryAddWithoutValidation("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01");
        if (tracestate is not null)
        {
            request.Headers.TryAddWithoutValidation("tracestate", tracestate);
        }
        return request;
    }

    /// <summary>The Bet Engine's span for the relayed bet of <paramref name="traceId"/>'s trace.</summary>
    private static async Task<Activity> BetEngineSpanOfAsync(RecordedActivities betEngineSpans, ActivityTraceId traceId)
    {
        // The Bet Engine's span stops once the answer is on its way: a moment after the client may have it.
        bool Relayed(Activity span) => span.DisplayName == "relayed POST /api/bets" && span.TraceId == traceId;
        Assert.True(await BetEngineStack.EventuallyAsync(() => Task.FromResult(betEngineSpans.Stopped.Any(Relayed))));
        return Assert.Single(betEngineSpans.Stopped, Relayed);
    }

    [Fact]
    public async Task A_bet_the_bet_engine_cannot_answer_at_all_fails_its_stream_rather_than_leaving_the_gateway_waiting()
    {
        // No PlaceBet endpoint to run the bet through: the answer cannot even be made (not a rejection, which the
        // endpoint would answer as a problem).
        var relay = new RestBetRelay(stack.BetEngine, new DefaultEndpointDataSource());
        var gatewaySide = new OpenStream<RestBetBatch>(new RestBetBatch
        {
            Bets = { new RestBet { RelayId = 1, UserId = Guid.NewGuid().ToString(), ContentType = "application/json", Body = ByteString.CopyFromUtf8("{}") } },
        });
        var answers = new List<RestBetAnswers>();

        // The Gateway's side stays open, as it does between bets: only the failure can end the call.
        var relaying = relay.RelayAsync(gatewaySide, new AnswerWriter(answers), CancellationToken.None);

        await Assert.ThrowsAsync<InvalidOperationException>(() => relaying.WaitAsync(TimeSpan.FromSeconds(15)));
        Assert.Empty(answers);
        Assert.True(gatewaySide.ReadingStopped, "The relay kept reading bets from a stream it could not answer on.");
    }

    [Fact]
    public async Task A_stream_opened_to_a_stopping_bet_engine_is_refused_unavailable_before_any_bet_is_read()
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync();
        var lifetime = new ApplicationLifetime(NullLogger<ApplicationLifetime>.Instance);
        lifetime.StopApplication();
        var relay = new RestBetRelay(new WithLifetime(stack.BetEngine, lifetime), stack.BetEngine.GetRequiredService<EndpointDataSource>());
        var gatewaySide = new OpenStream<RestBetBatch>(new RestBetBatch
        {
            Bets =
            {
                new RestBet
                {
                    RelayId = 1, UserId = player.Id.ToString(), ContentType = "application/json",
                    Body = ByteString.CopyFromUtf8(JsonSerializer.Serialize(new { poolId = pool.Id, outcomeId = pool.Outcomes[0], stakeMinor = 250 })),
                },
            },
        });
        var answers = new List<RestBetAnswers>();

        // Ended normally, the stream would tell the Gateway its bets were never read, and they would come straight back.
        var refused = await Assert.ThrowsAsync<RpcException>(() => relay.RelayAsync(gatewaySide, new AnswerWriter(answers), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(15)));

        Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
        Assert.Empty(answers);
        Assert.Equal(0, await stack.ScalarAsync("SELECT count(*) FROM bets WHERE pool_id = $1", pool.Id));
    }

    [Fact]
    public async Task A_burst_of_bets_naming_a_4_kb_unknown_field_is_answered_400_in_short_problems_that_cannot_break_the_stream()
    {
        var relay = stack.BetEngine.GetRequiredService<RestBetRelay>();
        // Nearly the largest body the Gateway relays, all of it one property name: a JSON path keeps the name, and
        // U+0080 (2 bytes) is written \u0080 (6). Echoed whole, each answer was some 12 KB, and 400 together 4.9 MB.
        var hostile = ByteString.CopyFromUtf8("{\"" + new string('\u0080', (RelayedBetsApi.MaxBodyBytes - 7) / 2) + "\": x}");
        Assert.InRange(hostile.Length, RelayedBetsApi.MaxBodyBytes - 1, RelayedBetsApi.MaxBodyBytes);
        var bets = Enumerable.Range(0, 400).Select(i => new RestBet
        {
            RelayId = (ulong)i, UserId = Guid.NewGuid().ToString(), IdempotencyKey = Guid.NewGuid().ToString(), HasIdempotencyKey = true,
            ContentType = "application/json", Body = hostile,
        }).ToList();

        var messages = await RelayedTogetherAsync(relay, bets);

        Assert.All(messages, message => Assert.InRange(message.CalculateSize(), 1, GatewayReceiveLimit - 1));
        var answers = messages.SelectMany(message => message.Answers).ToList();
        Assert.Equal(bets.Select(bet => bet.RelayId).Order(), answers.Select(answer => answer.RelayId).Order());
        Assert.All(answers, answer =>
        {
            Assert.Equal(400, answer.Status);
            Assert.Equal("application/problem+json", answer.ContentType);
            Assert.InRange(answer.Body.Length, 1, 1024);
            using var problem = JsonDocument.Parse(answer.Body.Memory);
            Assert.Equal(BetRequests.Problem("invalid-request"), problem.RootElement.GetProperty("type").GetString());
            Assert.StartsWith("The body is not valid JSON for this request at $", problem.RootElement.GetProperty("errors").GetProperty("body")[0].GetString());
        });
    }

    [Fact]
    public async Task A_relayed_bet_with_a_long_content_type_that_is_not_json_is_answered_415_without_repeating_all_of_it()
    {
        var relay = stack.BetEngine.GetRequiredService<RestBetRelay>();
        // Only the Gateway calls the relay, and it refuses a Content-Type over 256 characters; the Bet Engine must not
        // count on that to keep its answers small.
        var bet = new RestBet
        {
            RelayId = 1, UserId = Guid.NewGuid().ToString(), IdempotencyKey = Guid.NewGuid().ToString(), HasIdempotencyKey = true,
            ContentType = "text/plain; p=" + new string('<', 30_000), Body = ByteString.CopyFromUtf8("stake=250"),
        };

        var answer = Assert.Single((await RelayedTogetherAsync(relay, [bet])).SelectMany(message => message.Answers));

        Assert.Equal(415, answer.Status);
        Assert.InRange(answer.Body.Length, 1, 1024);
        using var problem = JsonDocument.Parse(answer.Body.Memory);
        Assert.StartsWith("Expected a supported JSON media type but got \"text/plain; p=<<<", problem.RootElement.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("application/json; charset=windows-1252", 415)]
    // Valid HTTP, and read as UTF-8 once unquoted, as a direct request's is.
    [InlineData("application/json; charset=\"utf-8\"", 201)]
    public async Task A_relayed_bet_declaring_a_charset_is_answered_as_a_direct_one_never_500(string contentType, int status)
    {
        var relay = stack.BetEngine.GetRequiredService<RestBetRelay>();
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync();
        // Only the Gateway calls the relay, and it refuses a charset .NET does not know; the Bet Engine must not count on
        // that either: the JSON reader throws on such a charset, and the relay answered a 500 logged as unhandled.
        var bet = new RestBet
        {
            RelayId = 1, UserId = player.Id.ToString(), IdempotencyKey = Guid.NewGuid().ToString(), HasIdempotencyKey = true, ContentType = contentType,
            Body = ByteString.CopyFromUtf8(JsonSerializer.Serialize(new { poolId = pool.Id, outcomeId = pool.Outcomes[0], stakeMinor = 250 })),
        };

        var answer = Assert.Single((await RelayedTogetherAsync(relay, [bet])).SelectMany(message => message.Answers));

        Assert.Equal(status, answer.Status);
        if (status == 415)
        {
            using var problem = JsonDocument.Parse(answer.Body.Memory);
            Assert.Equal(BetRequests.Problem("unsupported-media-type"), problem.RootElement.GetProperty("type").GetString());
            Assert.Equal("The body's charset 'windows-1252' is not supported: send JSON in UTF-8.", problem.RootElement.GetProperty("detail").GetString());
            Assert.Equal(0, await stack.ScalarAsync("SELECT count(*) FROM bets WHERE user_id = $1", player.Id));
        }
    }

    [Fact]
    public async Task Answers_ready_together_go_in_as_many_messages_as_keep_each_under_the_gateways_receive_limit()
    {
        // Whatever the endpoint answers, and however many answers are ready at once: a message past the Gateway's limit
        // fails the stream, and every bet on it is told 503.
        var answerBody = new byte[24 * 1024];
        var relay = new RestBetRelay(stack.BetEngine, new DefaultEndpointDataSource(new RouteEndpoint(
            http => http.Response.Body.WriteAsync(answerBody).AsTask(),
            RoutePatternFactory.Parse("/api/bets"), 0,
            new EndpointMetadataCollection(new EndpointNameMetadata(RestBetRelay.PlaceBetEndpointName)), "answers of 24 KB")));
        var bets = Enumerable.Range(0, 200).Select(i => new RestBet { RelayId = (ulong)i, UserId = Guid.NewGuid().ToString() }).ToList();

        var messages = await RelayedTogetherAsync(relay, bets);

        Assert.All(messages, message => Assert.InRange(message.CalculateSize(), 1, GatewayReceiveLimit - 1));
        Assert.Equal(bets.Select(bet => bet.RelayId), messages.SelectMany(message => message.Answers).Select(answer => answer.RelayId).Order());
        Assert.All(messages.SelectMany(message => message.Answers), answer => Assert.Equal(answerBody.Length, answer.Body.Length));
    }

    /// <summary>The Gateway's gRPC client keeps the default limit on a message it receives.</summary>
    private const int GatewayReceiveLimit = 4 * 1024 * 1024;

    /// <summary>
    /// Relays <paramref name="bets"/> in one message from a Gateway that then ends its side, holding the first answer's
    /// write until every bet is decided, as a busy stream does in a rush: the other answers are then ready together.
    /// </summary>
    private static async Task<List<RestBetAnswers>> RelayedTogetherAsync(RestBetRelay relay, IReadOnlyList<RestBet> bets)
    {
        using var spans = new RecordedActivities(BetBatchPipeline.ActivitySource.Name);
        var traceId = ActivityTraceId.CreateRandom();
        foreach (var bet in bets)
        {
            bet.Traceparent = $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01";
        }
        async Task AllDecidedAsync()
        {
            Assert.True(await BetEngineStack.EventuallyAsync(() => Task.FromResult(
                spans.Stopped.Count(span => span.DisplayName == "relayed POST /api/bets" && span.TraceId == traceId) == bets.Count)));
            await Task.Delay(100); // each answer is queued right after its span stops
        }
        var written = new List<RestBetAnswers>();

        await relay.RelayAsync(new OpenStream<RestBetBatch>(new RestBetBatch { Bets = { bets } }) { StaysOpen = false },
            new AnswerWriter(written, AllDecidedAsync()), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        return written;
    }

    /// <summary>A client stream that yields its messages and then stays open until the reader gives up (or, with
    /// <see cref="StaysOpen"/> false, ends as the Gateway ends its side).</summary>
    private sealed class OpenStream<T>(params T[] messages) : IAsyncStreamReader<T>
    {
        private int _next = -1;
        public bool ReadingStopped { get; private set; }
        public bool StaysOpen { get; init; } = true;
        public T Current => messages[_next];

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            if (++_next < messages.Length)
            {
                return true;
            }
            if (!StaysOpen)
            {
                ReadingStopped = true;
                return false;
            }
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
                return false;
            }
            finally
            {
                ReadingStopped = true;
            }
        }
    }

    /// <summary>A Bet Engine's services with another host lifetime (one already stopping, say).</summary>
    private sealed class WithLifetime(IServiceProvider services, IHostApplicationLifetime lifetime) : IServiceProvider
    {
        public object? GetService(Type serviceType) => serviceType == typeof(IHostApplicationLifetime) ? lifetime : services.GetService(serviceType);
    }

    /// <summary>The Gateway's side of the answers; its first write can be held, as a busy stream holds it.</summary>
    private sealed class AnswerWriter(List<RestBetAnswers> written, Task? firstWriteHeldUntil = null) : IServerStreamWriter<RestBetAnswers>
    {
        public WriteOptions? WriteOptions { get; set; }

        public async Task WriteAsync(RestBetAnswers message)
        {
            if (written.Count == 0 && firstWriteHeldUntil is not null)
            {
                await firstWriteHeldUntil;
            }
            written.Add(message);
        }

        public Task WriteAsync(RestBetAnswers message, CancellationToken cancellationToken) => WriteAsync(message);
    }

    /// <summary>
    /// A TCP proxy to one address whose open connections can be silenced, as when the host behind them vanishes without
    /// a FIN or RST (node failure, partition): bytes sent either way are dropped and the connection stays open. A
    /// connection made afterwards reaches the address as before.
    /// </summary>
    private sealed class SilencingProxy : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly Uri _target;
        private readonly List<Connection> _connections = [];
        private readonly Task _accepting;
        private int _accepted;

        private SilencingProxy(Uri target)
        {
            _target = target;
            _listener.Start();
            _accepting = AcceptAsync();
        }

        public static SilencingProxy Start(Uri target) => new(target);

        public string Url => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";
        public int ConnectionsAccepted => System.Threading.Volatile.Read(ref _accepted);

        public void SilenceOpenConnections()
        {
            lock (_connections)
            {
                _connections.ForEach(connection => connection.Silenced = true);
            }
        }

        private async Task AcceptAsync()
        {
            while (true)
            {
                var incoming = await _listener.AcceptTcpClientAsync(); // throws once the listener stops
                var outgoing = new TcpClient();
                await outgoing.ConnectAsync(_target.Host, _target.Port);
                var connection = new Connection(incoming, outgoing);
                lock (_connections)
                {
                    _connections.Add(connection);
                }
                Interlocked.Increment(ref _accepted);
                _ = connection.PumpAsync(incoming.GetStream(), outgoing.GetStream());
                _ = connection.PumpAsync(outgoing.GetStream(), incoming.GetStream());
            }
        }

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            await _accepting.ContinueWith(_ => { }); // ends with the listener
            lock (_connections)
            {
                _connections.ForEach(connection => connection.Dispose());
            }
        }

        private sealed class Connection(TcpClient incoming, TcpClient outgoing) : IDisposable
        {
            public volatile bool Silenced;

            public async Task PumpAsync(Stream from, Stream to)
            {
                var buffer = new byte[16 * 1024];
                try
                {
                    int read;
                    while ((read = await from.ReadAsync(buffer)) > 0)
                    {
                        if (!Silenced)
                        {
                            await to.WriteAsync(buffer.AsMemory(0, read));
                        }
                    }
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
                {
                }
                if (!Silenced)
                {
                    Dispose(); // one side closed: close the other; a silenced connection's host never does
                }
            }

            public void Dispose()
            {
                incoming.Dispose();
                outgoing.Dispose();
            }
        }
    }

    private static HttpRequestMessage Post(HttpContent content, string? key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/bets") { Content = content };
        if (key is not null)
        {
            request.Headers.Add(BetsApi.IdempotencyKeyHeader, key);
        }
        return request;
    }

    /// <summary>A POST to the Gateway written by hand, for what HttpClient would not send (a header repeated on its own
    /// line); returns the whole answer as text.</summary>
    private async Task<string> RawPostAsync(TestPlayer player, string path, string body, params string[] headers)
    {
        var gateway = new Uri(stack.GatewayUrl);
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(gateway.Host, gateway.Port);
        await using var stream = tcp.GetStream();
        var request = new StringBuilder()
            .Append($"POST {path} HTTP/1.1\r\n")
            .Append($"Host: {gateway.Authority}\r\n")
            .Append($"Authorization: Bearer {player.Token}\r\n")
            .Append("Content-Type: application/json\r\n")
            .Append($"Content-Length: {Encoding.UTF8.GetByteCount(body)}\r\n")
            .Append("Connection: close\r\n");
        foreach (var header in headers)
        {
            request.Append(header).Append("\r\n");
        }
        request.Append("\r\n").Append(body);
        await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    private static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    /// <summary>What a client reads from an answer, without what differs between any two requests (ids, times, trace ids).</summary>
    private static async Task<string> AnswerAsync(HttpResponseMessage response)
    {
        var body = Volatile().Replace(await response.Content.ReadAsStringAsync(), "\"$1\":\"…\"");
        var location = response.Headers.Location is null ? "none" : "/api/bets/{id}";
        var replayed = response.Headers.TryGetValues(BetsApi.ReplayedHeader, out var values) ? string.Join(",", values) : "no";
        return $"{(int)response.StatusCode} {response.Content.Headers.ContentType?.MediaType} location={location} replayed={replayed} {body}";
    }

    [GeneratedRegex("\"(betId|placedAt|traceId)\":\"[^\"]*\"")]
    private static partial Regex Volatile();
}
