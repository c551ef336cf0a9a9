using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using StreamBets.BetEngine.Apis;
using StreamBets.BetEngine.Data;
using StreamBets.BetEngine.Eligibility;
using StreamBets.BetEngine.Placement;
using StreamBets.BetEngine.Pools;
using StreamBets.Contracts.Wallet;

namespace StreamBets.BetEngine.Tests;

/// <summary>
/// Every refusal has a stable problem type, and none moves money: no transfer, not even one refunded at once, touches the
/// player's wallet or the pool's escrow for the refused bet.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class BetRejectionTests(BetEngineStack stack)
{
    private const long Funds = 10_000;

    [Fact]
    public async Task A_pool_locked_by_its_streamer_takes_no_bets_once_the_lock_event_arrives()
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync(Funds);
        var directory = stack.BetEngine.GetRequiredService<IPoolDirectory>();
        Assert.Equal(PoolState.Open, (await directory.GetAsync(pool.Id, default))!.State); // cached as open

        await stack.LockPoolAsync(pool.Id);
        // The snapshot cache lasts minutes in these tests: only the PoolLocked event can close it this soon.
        Assert.True(await BetEngineStack.EventuallyAsync(async () => (await directory.GetAsync(pool.Id, default))!.State == PoolState.Locked));

        var response = await stack.BetClient(player).PlaceAsync(pool, pool.Outcomes[0], 500);

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal(BetRequests.Problem("pool-locked"), await response.ProblemTypeAsync());
        await AssertNoMoneyMovedAsync(player, pool);
    }

    [Fact]
    public async Task The_lock_time_closes_betting_before_any_lock_event()
    {
        var pool = await stack.NewPoolAsync(windowSeconds: 30);
        var player = await stack.NewPlayerAsync(Funds);
        Assert.Equal(HttpStatusCode.Created, (await stack.BetClient(player).PlaceAsync(pool, pool.Outcomes[0], 500)).StatusCode);

        // Pools' sweeper has not locked it (its own clock is 30 s behind): only the Bet Engine's clock says the window ended.
        stack.Clock.Advance(TimeSpan.FromSeconds(31));
        try
        {
            var late = await stack.NewPlayerAsync(Funds);
            var response = await stack.BetClient(late).PlaceAsync(pool, pool.Outcomes[0], 500);

            Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
            Assert.Equal(BetRequests.Problem("pool-locked"), await response.ProblemTypeAsync());
            await AssertNoMoneyMovedAsync(late, pool, escrow: 500);
        }
        finally
        {
            // Back in step with Pools' clock, which other tests compare bet arrival times with.
            stack.Clock.Advance(TimeSpan.FromSeconds(-31));
        }
    }

    [Fact]
    public async Task A_bet_a_stale_snapshot_admitted_after_a_lock_by_hand_is_rejected_before_any_money_moves()
    {
        var pool = await stack.NewPoolAsync();
        var before = await stack.NewPlayerAsync(Funds);
        var after = await stack.NewPlayerAsync(Funds);
        var inTime = stack.Admit(before, pool, pool.Outcomes[0], 500);
        await stack.LockPoolAsync(pool.Id);
        // Another replica's cache still said open (PoolLocked reaches one replica, and the lock time is minutes away), so
        // it admitted this bet after the lock; both then wait in one batch.
        var late = stack.Admit(after, pool, pool.Outcomes[1], 700);

        IReadOnlyList<PlacementResult> answers = [];
        await stack.BetEngine.GetRequiredService<BetBatchPipeline>().RunAsync(pool.Id, [inTime, late], results => answers = results, default);

        Assert.True(answers[0].IsAccepted, "A bet that arrived before the lock stands.");
        Assert.Equal(BetRejectionCodes.PoolLocked, answers[1].Rejection?.Code);
        Assert.Equal(BetStatus.Rejected, answers[1].Bet?.Status);
        await AssertNoMoneyMovedAsync(after, pool, escrow: 500);
        Assert.Equal(Funds - 500, await stack.BalanceAsync(before.Account));
    }

    [Fact]
    public async Task A_bet_of_a_pool_cancelled_while_it_waited_in_its_batch_is_refused_without_moving_money()
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync(Funds);
        var waiting = stack.Admit(player, pool, pool.Outcomes[0], 500);
        // Cancelled while open (it has no lock time, so only its state tells), and PoolCancelled not delivered yet: the
        // row is changed in poolsdb alone, as Pools commits it before its relay publishes the event.
        await using (var poolsDb = stack.Pools.GetRequiredService<NpgsqlDataSource>().CreateCommand(
            "UPDATE pools SET state = 'cancelled', closed_at = now(), cancellation_reason = 'manual', version = version + 1 WHERE id = $1"))
        {
            poolsDb.Parameters.AddWithValue(pool.Id);
            Assert.Equal(1, await poolsDb.ExecuteNonQueryAsync());
        }

        IReadOnlyList<PlacementResult> answers = [];
        await stack.BetEngine.GetRequiredService<BetBatchPipeline>().RunAsync(pool.Id, [waiting], results => answers = results, default);

        Assert.Equal(BetRejectionCodes.PoolClosed, Assert.Single(answers).Rejection?.Code);
        await AssertNoMoneyMovedAsync(player, pool);
    }

    [Fact]
    public async Task A_refusal_the_bet_database_cannot_check_for_an_earlier_bet_is_answered_unavailable()
    {
        var pool = await stack.NewPoolAsync(minStakeMinor: 100);
        var player = await stack.NewPlayerAsync(Funds);
        // A bet database that does not answer: nothing listens on port 1.
        await using var unreachable = NpgsqlDataSource.Create("Host=127.0.0.1;Port=1;Timeout=2;Username=x;Database=x");
        var placement = new BetPlacement(
            stack.BetEngine.GetRequiredService<IPoolDirectory>(), stack.BetEngine.GetRequiredService<EligibilityCache>(),
            new BetStore(unreachable), stack.BetEngine.GetRequiredService<PoolBatchers>(), stack.Clock);

        // Below the minimum: before refusing, the key's earlier bet is looked up (the limits may have been changed since).
        var result = await placement.PlaceAsync(new PlaceBetCommand(player.Id, pool.Id, pool.Outcomes[0], 50, Guid.NewGuid().ToString()), default);

        // Not "stake-out-of-range": a bet with this key may have been accepted before; the player is told to retry.
        Assert.Equal(BetRejectionCodes.DependencyUnavailable, result.Rejection?.Code);
        await AssertNoMoneyMovedAsync(player, pool);
    }

    [Fact]
    public async Task An_outcome_of_another_pool_is_unknown()
    {
        var pool = await stack.NewPoolAsync();
        var other = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync(Funds);

        var response = await stack.BetClient(player).PlaceAsync(pool, other.Outcomes[0], 500);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal(BetRequests.Problem("unknown-outcome"), await response.ProblemTypeAsync());
        await AssertNoMoneyMovedAsync(player, pool);
    }

    [Theory]
    [InlineData(99)]
    [InlineData(50_001)]
    public async Task A_stake_outside_the_pool_limits_is_out_of_range(long stake)
    {
        var pool = await stack.NewPoolAsync(minStakeMinor: 100, maxStakeMinor: 50_000);
        var player = await stack.NewPlayerAsync(100_000);

        var response = await stack.BetClient(player).PlaceAsync(pool, pool.Outcomes[0], stake);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal(BetRequests.Problem("stake-out-of-range"), await response.ProblemTypeAsync());
        await AssertNoMoneyMovedAsync(player, pool, funds: 100_000);
    }

    [Fact]
    public async Task A_stake_above_the_balance_is_insufficient_funds_and_the_rejected_bet_is_kept()
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync(400);

        var response = await stack.BetClient(player).PlaceAsync(pool, pool.Outcomes[0], 500, key: "too-much");

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal(BetRequests.Problem("insufficient-funds"), await response.ProblemTypeAsync());
        await AssertNoMoneyMovedAsync(player, pool, funds: 400);
        Assert.Equal(1, await stack.BetsOfPoolAsync(pool.Id, "rejected"));
        // Kept, but not among the player's open bets.
        await using var open = stack.BetsDb.CreateCommand("SELECT count(*) FROM open_bets WHERE user_id = $1");
        open.Parameters.Add(new NpgsqlParameter { Value = player.Id });
        Assert.Equal(0L, await open.ExecuteScalarAsync());
    }

    [Fact]
    public async Task A_self_excluded_player_may_not_bet()
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync(Funds);
        await SelfExcludeAsync(player);

        var response = await stack.BetClient(player).PlaceAsync(pool, pool.Outcomes[0], 500);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(BetRequests.Problem("self-excluded"), await response.ProblemTypeAsync());
        await AssertNoMoneyMovedAsync(player, pool);
    }

    [Fact]
    public async Task A_player_who_self_excludes_is_refused_at_once_though_the_Bet_Engine_remembered_them_allowed()
    {
        var player = await stack.NewPlayerAsync(Funds);
        var eligibility = stack.BetEngine.GetRequiredService<EligibilityCache>();
        Assert.Null(await eligibility.CheckAsync(player.Id, null, default));

        // The clock held an hour back: the remembered "allowed" cannot expire during the test, only the event can drop it.
        stack.Clock.Advance(TimeSpan.FromHours(-1));
        try
        {
            await SelfExcludeAsync(player);

            Assert.True(await BetEngineStack.EventuallyAsync(async () =>
                (await eligibility.CheckAsync(player.Id, null, default))?.Code == BetRejectionCodes.SelfExcluded));
        }
        finally
        {
            stack.Clock.Advance(TimeSpan.FromHours(1));
        }
    }

    [Fact]
    public async Task A_player_without_an_accepted_identity_document_may_not_bet()
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync(Funds, country: "PT"); // KYC tier 0: no CPF

        var response = await stack.BetClient(player).PlaceAsync(pool, pool.Outcomes[0], 500);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(BetRequests.Problem("kyc-tier-too-low"), await response.ProblemTypeAsync());
        await AssertNoMoneyMovedAsync(player, pool);
    }

    [Fact]
    public async Task A_player_may_add_to_their_outcome_but_never_back_a_second_one()
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync(Funds);
        var client = stack.BetClient(player);

        Assert.Equal(HttpStatusCode.Created, (await client.PlaceAsync(pool, pool.Outcomes[0], 500)).StatusCode);
        var second = await client.PlaceAsync(pool, pool.Outcomes[1], 700);
        Assert.Equal(HttpStatusCode.Created, (await client.PlaceAsync(pool, pool.Outcomes[0], 300)).StatusCode);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, second.StatusCode);
        Assert.Equal(BetRequests.Problem("second-outcome"), await second.ProblemTypeAsync());
        // Refused before the ledger, from the outcome stored by the earlier batch: not moved and then refunded.
        await AssertNoMoneyMovedAsync(player, pool, funds: Funds - 800, escrow: 800);
    }

    [Fact]
    public async Task A_pool_nobody_created_is_not_found()
    {
        var player = await stack.NewPlayerAsync(Funds);
        var ghost = new TestPool(Guid.NewGuid(), [Guid.NewGuid()]);

        var response = await stack.BetClient(player).PlaceAsync(ghost, ghost.Outcomes[0], 500);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(BetRequests.Problem(BetRejectionCodes.PoolNotFound), await response.ProblemTypeAsync());
        await AssertNoMoneyMovedAsync(player, ghost);
    }

    [Fact]
    public async Task A_bet_without_an_idempotency_key_or_with_a_bad_body_is_a_validation_problem()
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync(Funds);
        var client = stack.BetClient(player);

        var noKey = await client.PostAsJsonAsync("/api/bets", new { poolId = pool.Id, outcomeId = pool.Outcomes[0], stakeMinor = 500 });
        var negative = await client.PlaceAsync(pool, pool.Outcomes[0], -5);

        Assert.Equal(HttpStatusCode.BadRequest, noKey.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, negative.StatusCode);
        await AssertNoMoneyMovedAsync(player, pool);
    }

    /// <summary>Stakes at and past the edges of a 64-bit integer: each is a problem of its own type, not a 500, and moves nothing.</summary>
    [Theory]
    [InlineData(BetRequestBodyTests.Route.BetEngine, "9223372036854775807", HttpStatusCode.UnprocessableEntity, "stake-out-of-range")] // long.MaxValue
    [InlineData(BetRequestBodyTests.Route.BetEngine, "9223372036854775808", HttpStatusCode.BadRequest, "invalid-request")] // 2^63: no long holds it
    [InlineData(BetRequestBodyTests.Route.BetEngine, "-9223372036854775808", HttpStatusCode.BadRequest, "invalid-request")] // long.MinValue
    [InlineData(BetRequestBodyTests.Route.BetEngine, "-1", HttpStatusCode.BadRequest, "invalid-request")]
    [InlineData(BetRequestBodyTests.Route.Gateway, "9223372036854775807", HttpStatusCode.UnprocessableEntity, "stake-out-of-range")]
    [InlineData(BetRequestBodyTests.Route.Gateway, "9223372036854775808", HttpStatusCode.BadRequest, "invalid-request")]
    [InlineData(BetRequestBodyTests.Route.Gateway, "-9223372036854775808", HttpStatusCode.BadRequest, "invalid-request")]
    public async Task An_extreme_stake_is_a_problem_with_a_stable_type_and_moves_no_money(
        BetRequestBodyTests.Route route, string stakeMinor, HttpStatusCode status, string problem)
    {
        var pool = await stack.NewPoolAsync(minStakeMinor: 100, maxStakeMinor: 50_000);
        var player = await stack.NewPlayerAsync(Funds);
        using var client = route == BetRequestBodyTests.Route.BetEngine ? stack.BetClient(player) : stack.GatewayClient(player);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/bets")
        {
            // Written by hand: the number is sent as it stands, which no long could carry past its edges.
            Content = new StringContent($$"""{"poolId":"{{pool.Id}}","outcomeId":"{{pool.Outcomes[0]}}","stakeMinor":{{stakeMinor}}}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add(BetsApi.IdempotencyKeyHeader, Guid.NewGuid().ToString());

        var response = await client.SendAsync(request);

        Assert.Equal((status, BetRequests.Problem(problem)), (response.StatusCode, await response.ProblemTypeAsync()));
        await AssertNoMoneyMovedAsync(player, pool);
    }

    [Fact]
    public async Task A_bet_beyond_its_pools_queue_limit_is_refused_at_once_as_unavailable_and_nothing_is_placed()
    {
        var pool = await stack.NewPoolAsync();
        var (opener, queued, turnedAway) = (await stack.NewPlayerAsync(Funds), await stack.NewPlayerAsync(Funds), await stack.NewPlayerAsync(Funds));
        var services = stack.BetEngine;
        // A replica whose pools may each have one bet waiting for its batch.
        await using var batchers = new PoolBatchers(services.GetRequiredService<BetBatchPipeline>(),
            Options.Create(new BetEngineOptions { MaxQueuedBetsPerPool = 1 }), NullLogger<PoolBatchers>.Instance);
        var placement = new BetPlacement(services.GetRequiredService<IPoolDirectory>(), services.GetRequiredService<EligibilityCache>(),
            services.GetRequiredService<BetStore>(), batchers, stack.Clock);
        PlaceBetCommand Bet(TestPlayer player) => new(player.Id, pool.Id, pool.Outcomes[0], 500, $"queue-limit-{player.Id}");

        using var hold = stack.StakeHold.Arm(pool.Id);
        Task<PlacementResult> opening, waiting;
        PlacementResult refused;
        try
        {
            opening = placement.PlaceAsync(Bet(opener), default);
            await hold.Reached.WaitAsync(TimeSpan.FromSeconds(30)); // its batch took it: the queue is empty
            waiting = placement.PlaceAsync(Bet(queued), default);
            refused = await placement.PlaceAsync(Bet(turnedAway), default).WaitAsync(TimeSpan.FromSeconds(5));
        }
        finally
        {
            hold.Release();
        }

        Assert.Equal((null, BetRejectionCodes.DependencyUnavailable), (refused.Bet, refused.Rejection?.Code));
        Assert.True((await opening).IsAccepted);
        Assert.True((await waiting).IsAccepted);
        Assert.Equal(0, await stack.ScalarAsync("SELECT count(*) FROM bets WHERE user_id = $1", turnedAway.Id));
        await AssertNoMoneyMovedAsync(turnedAway, pool, escrow: 1_000);
        // Nothing of it was kept: the retry is judged afresh, and placed.
        Assert.True((await placement.PlaceAsync(Bet(turnedAway), default)).IsAccepted);
    }

    [Fact]
    public async Task A_bet_behind_a_pool_queue_that_has_waited_too_long_is_refused_at_once_as_unavailable_and_nothing_is_placed()
    {
        var pool = await stack.NewPoolAsync();
        var (opener, queued, turnedAway) = (await stack.NewPlayerAsync(Funds), await stack.NewPlayerAsync(Funds), await stack.NewPlayerAsync(Funds));
        var services = stack.BetEngine;
        // Room for many bets, but not for long: a queue whose oldest bet waited this long is slower than callers wait.
        var maxWait = TimeSpan.FromMilliseconds(300);
        await using var batchers = new PoolBatchers(services.GetRequiredService<BetBatchPipeline>(),
            Options.Create(new BetEngineOptions { MaxQueueWait = maxWait }), NullLogger<PoolBatchers>.Instance);
        var placement = new BetPlacement(services.GetRequiredService<IPoolDirectory>(), services.GetRequiredService<EligibilityCache>(),
            services.GetRequiredService<BetStore>(), batchers, stack.Clock);
        PlaceBetCommand Bet(TestPlayer player) => new(player.Id, pool.Id, pool.Outcomes[0], 500, $"queue-wait-{player.Id}");
        using var turnedAwayCount = new BatchTelemetryTests.RecordedMeasurements("streambets.bets.turned_away");

        using var hold = stack.StakeHold.Arm(pool.Id);
        Task<PlacementResult> opening, waiting;
        PlacementResult refused;
        try
        {
            opening = placement.PlaceAsync(Bet(opener), default);
            await hold.Reached.WaitAsync(TimeSpan.FromSeconds(30)); // its batch took it and is held: the queue waits
            waiting = placement.PlaceAsync(Bet(queued), default);
            while (batchers.QueuedBets(pool.Id) == 0)
            {
                await Task.Delay(10);
            }
            await Task.Delay(maxWait + TimeSpan.FromMilliseconds(50)); // queued before this wait: now older than allowed
            refused = await placement.PlaceAsync(Bet(turnedAway), default).WaitAsync(TimeSpan.FromSeconds(5));
        }
        finally
        {
            hold.Release();
        }

        Assert.Equal((null, BetRejectionCodes.DependencyUnavailable), (refused.Bet, refused.Rejection?.Code));
        Assert.NotEmpty(turnedAwayCount.Measurements); // what the runbook alerts on
        Assert.True((await opening).IsAccepted);
        Assert.True((await waiting).IsAccepted, "the bet already queued is placed: only new ones are turned away");
        Assert.Equal(0, await stack.ScalarAsync("SELECT count(*) FROM bets WHERE user_id = $1", turnedAway.Id));
        await AssertNoMoneyMovedAsync(turnedAway, pool, escrow: 1_000);
        // The queue caught up: the retry is judged afresh, and placed.
        Assert.True((await placement.PlaceAsync(Bet(turnedAway), default)).IsAccepted);
    }

    private async Task SelfExcludeAsync(TestPlayer player)
    {
        using var users = new HttpRequestMessage(HttpMethod.Post, "/api/users/me/self-exclusion") { Content = JsonContent.Create(new { period = "6-months" }) };
        users.Headers.Authorization = new AuthenticationHeaderValue("Bearer", player.Token);
        (await stack.UsersHttp.SendAsync(users)).EnsureSuccessStatusCode();
    }

    /// <summary>
    /// The refused bet left no trace in the ledger: the player's wallet holds only its funding and the stakes of the
    /// player's accepted bets, and the pool's escrow only the stakes of the pool's accepted bets, by transfer id. Balances
    /// alone would pass a stake moved and refunded; its stake and refund transfers would show here.
    /// </summary>
    private async Task AssertNoMoneyMovedAsync(TestPlayer player, TestPool pool, long funds = Funds, long escrow = 0)
    {
        var playerEntries = (await stack.Wallet.HistoryAsync(new HistoryRequest { Account = player.Account, Limit = 100 })).Entries;
        Assert.Single(playerEntries, e => e.Reason == NewPlayerFunding);
        Assert.Equal(
            await AcceptedStakeTransfersAsync("user_id", player.Id),
            playerEntries.Where(e => e.Reason != NewPlayerFunding).Select(e => e.TransferId).Order());
        Assert.Equal(await AcceptedStakeTransfersAsync("pool_id", pool.Id), (await stack.TransferIdsAsync(pool.Escrow)).Order());
        Assert.Equal(funds, await stack.BalanceAsync(player.Account));
        Assert.Equal(escrow, await stack.BalanceAsync(pool.Escrow));
        await stack.AssertLedgerExactAsync();
    }

    /// <summary>The reason of the transfer that funds a player from <see cref="BetEngineStack.NewPlayerAsync"/>.</summary>
    private const string NewPlayerFunding = "sandbox-credit";

    private async Task<List<string>> AcceptedStakeTransfersAsync(string column, Guid id)
    {
        await using var command = stack.BetsDb.CreateCommand($"SELECT bet_id FROM bets WHERE {column} = $1 AND status = 'accepted'");
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        var stakes = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            stakes.Add(BetTransferIds.Stake(reader.GetGuid(0)).ToString());
        }
        return [.. stakes.Order()];
    }
}
