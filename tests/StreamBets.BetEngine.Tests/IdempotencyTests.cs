using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using StreamBets.BetEngine.Apis;
using StreamBets.BetEngine.Data;
using StreamBets.BetEngine.Eligibility;
using StreamBets.BetEngine.Ledger;
using StreamBets.BetEngine.Odds;
using StreamBets.BetEngine.Placement;
using StreamBets.BetEngine.Pools;
using StreamBets.Testing;

namespace StreamBets.BetEngine.Tests;

[Collection(StackCollection.Name)]
public sealed class IdempotencyTests(BetEngineStack stack)
{
    private const long Funds = 10_000;

    [Fact]
    public async Task Second_request_with_same_idempotency_key_returns_first_result()
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync(Funds);
        var client = stack.BetClient(player);

        var first = await client.PlaceAsync(pool, pool.Outcomes[0], 500, key: "bet-1");
        var again = await client.PlaceAsync(pool, pool.Outcomes[0], 500, key: "bet-1");

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
        Assert.Equal(await first.BetAsync(), await again.BetAsync());
        Assert.False(first.Headers.Contains(BetsApi.ReplayedHeader));
        Assert.Equal("true", again.Headers.GetValues(BetsApi.ReplayedHeader).Single());
        Assert.Equal(Funds - 500, await stack.BalanceAsync(player.Account));
        Assert.Equal(500, await stack.BalanceAsync(pool.Escrow));
    }

    [Fact]
    public async Task A_batch_mixing_new_bets_replays_and_a_reused_key_answers_each_its_own_and_moves_only_the_new_stakes()
    {
        var pool = await stack.NewPoolAsync();
        var players = await stack.NewPlayersAsync(3, Funds);
        var pipeline = stack.BetEngine.GetRequiredService<BetBatchPipeline>();
        var earlier = stack.Admit(players[0], pool, pool.Outcomes[0], 500);
        await pipeline.RunAsync(pool.Id, [earlier], _ => { }, default);

        // One batch: a new bet, the earlier bet sent again, its key with another stake, and a second new bet.
        var fresh = stack.Admit(players[1], pool, pool.Outcomes[1], 700);
        var replay = earlier with { BetId = Guid.CreateVersion7() };
        var reused = earlier with { Command = earlier.Command with { StakeMinor = 900 }, BetId = Guid.CreateVersion7() };
        var alsoFresh = stack.Admit(players[2], pool, pool.Outcomes[0], 300);
        IReadOnlyList<PlacementResult> answers = [];
        await pipeline.RunAsync(pool.Id, [fresh, replay, reused, alsoFresh], results => answers = results, default);

        Assert.Equal((fresh.BetId, BetStatus.Accepted, false), (answers[0].Bet?.BetId, answers[0].Bet?.Status, answers[0].Replayed));
        Assert.Equal((earlier.BetId, BetStatus.Accepted, true), (answers[1].Bet?.BetId, answers[1].Bet?.Status, answers[1].Replayed));
        Assert.Equal(BetRejectionCodes.IdempotencyKeyReused, answers[2].Rejection?.Code);
        Assert.Equal((alsoFresh.BetId, BetStatus.Accepted, false), (answers[3].Bet?.BetId, answers[3].Bet?.Status, answers[3].Replayed));
        Assert.Equal(Funds - 500, await stack.BalanceAsync(players[0].Account));
        Assert.Equal(1_500, await stack.BalanceAsync(pool.Escrow));
        Assert.Equal(3, await stack.BetsOfPoolAsync(pool.Id, "accepted"));
        await stack.AssertLedgerExactAsync();
    }

    [Fact]
    public async Task The_same_key_with_another_body_is_refused_and_moves_nothing()
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync(Funds);
        var client = stack.BetClient(player);

        await (await client.PlaceAsync(pool, pool.Outcomes[0], 500, key: "bet-1")).BetAsync();
        var reused = await client.PlaceAsync(pool, pool.Outcomes[0], 900, key: "bet-1");

        Assert.Equal(HttpStatusCode.UnprocessableEntity, reused.StatusCode);
        Assert.Equal(BetRequests.Problem("idempotency-key-reused"), await reused.ProblemTypeAsync());
        Assert.Equal(Funds - 500, await stack.BalanceAsync(player.Account));
    }

    [Fact]
    public async Task Concurrent_requests_with_one_key_place_one_bet()
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync(Funds);
        var client = stack.BetClient(player);

        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => client.PlaceAsync(pool, pool.Outcomes[0], 500, key: "tap-tap-tap")));

        var bets = await Task.WhenAll(responses.Select(r => r.BetAsync()));
        Assert.Single(bets.Select(b => b.BetId).Distinct());
        Assert.Equal(Funds - 500, await stack.BalanceAsync(player.Account));
        Assert.Equal(1, await stack.BetsOfPoolAsync(pool.Id, "accepted"));
    }

    [Fact]
    public async Task A_replay_after_the_pool_locked_still_answers_the_accepted_bet()
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync(Funds);
        var client = stack.BetClient(player);
        var placed = await (await client.PlaceAsync(pool, pool.Outcomes[1], 500, key: "before-lock")).BetAsync();

        await stack.LockPoolAsync(pool.Id);
        var directory = stack.BetEngine.GetRequiredService<IPoolDirectory>();
        Assert.True(await BetEngineStack.EventuallyAsync(async () => (await directory.GetAsync(pool.Id, default))!.State == PoolState.Locked));
        var fresh = await client.PlaceAsync(pool, pool.Outcomes[1], 500, key: "after-lock");
        var replay = await client.PlaceAsync(pool, pool.Outcomes[1], 500, key: "before-lock");

        Assert.Equal(HttpStatusCode.Conflict, fresh.StatusCode);

        Assert.Equal(HttpStatusCode.Created, replay.StatusCode);
        Assert.Equal(placed, await replay.BetAsync());
        Assert.Equal(Funds - 500, await stack.BalanceAsync(player.Account));
    }

    [Fact]
    public async Task A_bet_whose_caller_gives_up_while_it_waits_in_its_pools_queue_is_never_placed_and_a_retry_on_any_replica_is_judged_afresh()
    {
        var pool = await stack.NewPoolAsync();
        var (first, quitter) = (await stack.NewPlayerAsync(Funds), await stack.NewPlayerAsync(Funds));
        var services = stack.BetEngine;
        var replicaA = services.GetRequiredService<BetPlacement>();
        // Replica B: its own placement and batchers, over the same betsdb and neighbours.
        await using var batchersB = new PoolBatchers(
            services.GetRequiredService<BetBatchPipeline>(), services.GetRequiredService<IOptions<BetEngineOptions>>(), NullLogger<PoolBatchers>.Instance);
        var directory = services.GetRequiredService<IPoolDirectory>();
        var replicaB = new BetPlacement(directory, services.GetRequiredService<EligibilityCache>(), services.GetRequiredService<BetStore>(), batchersB, stack.Clock);
        var bet = new PlaceBetCommand(quitter.Id, pool.Id, pool.Outcomes[1], 300, Guid.NewGuid().ToString());
        // Warm caches: the cheap rules pass at once, so the bet is queued as soon as it is placed.
        await directory.GetAsync(pool.Id, default);
        await services.GetRequiredService<EligibilityCache>().CheckAsync(quitter.Id, null, default);

        using var hold = stack.StakeHold.Arm(pool.Id);
        try
        {
            var held = stack.BetClient(first).PlaceAsync(pool, pool.Outcomes[0], 400);
            await hold.Reached.WaitAsync(TimeSpan.FromSeconds(30));

            // The bet queues behind the held batch; its caller gives up (a deadline, a dropped stream, a closed socket).
            using var caller = new CancellationTokenSource();
            var placing = replicaA.PlaceAsync(bet, caller.Token);
            var batchersA = services.GetRequiredService<PoolBatchers>();
            Assert.True(await BetEngineStack.EventuallyAsync(() => Task.FromResult(batchersA.QueuedBets(pool.Id) == 1)), "The bet was never queued.");
            await caller.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => placing);

            // The pool locks; the retry reaches the other replica, which refuses it: nothing of it is stored...
            await stack.LockPoolAsync(pool.Id);
            Assert.True(await BetEngineStack.EventuallyAsync(async () => (await directory.GetAsync(pool.Id, default))!.State == PoolState.Locked));
            var retried = await replicaB.PlaceAsync(bet, default);
            Assert.Equal((null, BetRejectionCodes.PoolLocked), (retried.Bet, retried.Rejection?.Code));
            hold.Release();
            Assert.Equal(HttpStatusCode.Created, (await held).StatusCode);
        }
        finally
        {
            hold.Release();
        }

        // ...and the queued bet is never placed behind its back: both replicas keep answering what B said.
        await Task.Delay(500); // time enough for a batch that would still write it
        Assert.Equal(0, await stack.ScalarAsync("SELECT count(*) FROM bets WHERE user_id = $1", quitter.Id));
        Assert.Equal(BetRejectionCodes.PoolLocked, (await replicaA.PlaceAsync(bet, default)).Rejection?.Code);
        Assert.Equal(Funds, await stack.BalanceAsync(quitter.Account));
        Assert.Equal(400, await stack.BalanceAsync(pool.Escrow));
        await stack.AssertLedgerExactAsync();
    }

    [Fact]
    public async Task One_key_sent_to_two_replicas_at_once_places_one_bet_and_moves_one_stake()
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync(Funds);
        var (replicaA, replicaB, batchersB) = await TwoReplicasAsync(pool, player);
        await using var _ = batchersB;
        var bet = new PlaceBetCommand(player.Id, pool.Id, pool.Outcomes[0], 500, "two-devices");

        var (onA, onB) = await BothReachTheDatabaseAsync(bet, () => replicaA.PlaceAsync(bet, default), () => replicaB.PlaceAsync(bet, default));

        // The unique index let one pending row in; the other replica's batch read it back as a replay.
        Assert.Equal(1, await stack.ScalarAsync("SELECT count(*) FROM bets WHERE user_id = $1 AND idempotency_key = $2", player.Id, bet.IdempotencyKey));
        Assert.Equal(1, await stack.ScalarAsync("SELECT count(*) FROM bets WHERE user_id = $1", player.Id));
        Assert.NotNull(onA.Bet);
        Assert.NotNull(onB.Bet);
        Assert.Equal(onA.Bet.BetId, onB.Bet.BetId);
        // The replica whose write committed first placed the bet; the other replays the stored bet as its read-back found it,
        // just after that commit: the same bet, pending (202) while the placing batch is still deciding it (docs/bets.md,
        // Idempotency: "the stored result ... or pending"). Asked again, both replicas answer it accepted.
        var (placing, replaying, replayingReplica) = onA.Replayed ? (onB, onA, replicaA) : (onA, onB, replicaB);
        Assert.Equal((BetStatus.Accepted, false), (placing.Bet!.Status, placing.Replayed));
        Assert.True(replaying.Replayed);
        Assert.Contains(replaying.Bet!.Status, new[] { BetStatus.Pending, BetStatus.Accepted });
        Assert.Equal(Body(placing.Bet), Body(replaying.Bet));
        foreach (var replica in new[] { replayingReplica, replayingReplica == replicaA ? replicaB : replicaA })
        {
            var again = await replica.PlaceAsync(bet, default);
            Assert.Equal((placing.Bet.BetId, BetStatus.Accepted, true), (again.Bet?.BetId, again.Bet?.Status, again.Replayed));
        }

        Assert.Equal(2, (await stack.TransferIdsAsync(player.Account)).Count); // funding and one stake
        Assert.Contains(BetTransferIds.Stake(onA.Bet.BetId).ToString(), await stack.TransferIdsAsync(player.Account));
        Assert.Equal(Funds - 500, await stack.BalanceAsync(player.Account));
        Assert.Equal(500, await stack.BalanceAsync(pool.Escrow));
        await stack.AssertLedgerExactAsync();
    }

    [Fact]
    public async Task One_key_sent_to_two_replicas_at_once_with_two_bodies_places_one_and_refuses_the_other_as_reused()
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync(Funds);
        var (replicaA, replicaB, batchersB) = await TwoReplicasAsync(pool, player);
        await using var _ = batchersB;
        var onDeviceA = new PlaceBetCommand(player.Id, pool.Id, pool.Outcomes[0], 500, "two-devices");
        var onDeviceB = onDeviceA with { StakeMinor = 900 };

        var (onA, onB) = await BothReachTheDatabaseAsync(onDeviceA, () => replicaA.PlaceAsync(onDeviceA, default), () => replicaB.PlaceAsync(onDeviceB, default));

        // Whichever committed first is placed; the other is told its key was used for another bet.
        var (won, lost) = onA.Bet is not null ? (onA, onB) : (onB, onA);
        Assert.Equal((BetStatus.Accepted, false), (won.Bet?.Status, won.Replayed));
        Assert.Equal((null, BetRejectionCodes.IdempotencyKeyReused), (lost.Bet, lost.Rejection?.Code));
        var stake = won.Bet!.StakeMinor;
        Assert.Equal(1, await stack.ScalarAsync("SELECT count(*) FROM bets WHERE user_id = $1", player.Id));
        Assert.Equal(stake, await stack.ScalarAsync("SELECT stake_minor FROM bets WHERE user_id = $1 AND idempotency_key = $2", player.Id, onDeviceA.IdempotencyKey));
        Assert.Equal(2, (await stack.TransferIdsAsync(player.Account)).Count); // funding and one stake
        Assert.Equal(Funds - stake, await stack.BalanceAsync(player.Account));
        Assert.Equal(stake, await stack.BalanceAsync(pool.Escrow));
        await stack.AssertLedgerExactAsync();
    }

    /// <summary>
    /// The stack's own placement (replica A) and a second one (replica B: its own in-flight table and batchers) over the same
    /// betsdb and neighbours, their caches warm so a bet goes straight to its pool's batch.
    /// </summary>
    private async Task<(BetPlacement A, BetPlacement B, PoolBatchers BatchersB)> TwoReplicasAsync(TestPool pool, TestPlayer player)
    {
        var services = stack.BetEngine;
        var batchersB = new PoolBatchers(
            services.GetRequiredService<BetBatchPipeline>(), services.GetRequiredService<IOptions<BetEngineOptions>>(), NullLogger<PoolBatchers>.Instance);
        var directory = services.GetRequiredService<IPoolDirectory>();
        var replicaB = new BetPlacement(directory, services.GetRequiredService<EligibilityCache>(), services.GetRequiredService<BetStore>(), batchersB, stack.Clock);
        await directory.GetAsync(pool.Id, default);
        await services.GetRequiredService<EligibilityCache>().CheckAsync(player.Id, null, default);
        return (services.GetRequiredService<BetPlacement>(), replicaB, batchersB);
    }

    /// <summary>
    /// Runs both placements with the pending-row inserts of <paramref name="bet"/>'s key held until both are waiting in
    /// betsdb, so neither replica's write has committed when the other's is sent; then lets both through.
    /// </summary>
    private async Task<(PlacementResult OnA, PlacementResult OnB)> BothReachTheDatabaseAsync(
        PlaceBetCommand bet, Func<Task<PlacementResult>> placeOnA, Func<Task<PlacementResult>> placeOnB)
    {
        Task<PlacementResult> onA, onB;
        await using (var pause = await PostgresRaceSteps.PauseWritesAsync(
            stack.BetsConnectionString, "bets", $"NEW.user_id = '{bet.UserId}' AND NEW.idempotency_key = '{bet.IdempotencyKey}'", "INSERT"))
        {
            onA = placeOnA();
            await pause.HeldAsync(onA);
            onB = placeOnB();
            Assert.True(await BetEngineStack.EventuallyAsync(async () => await HeldInsertsAsync() == 2), "both replicas' pending writes held");
            Assert.False(onA.IsCompleted || onB.IsCompleted);
        }
        return (await onA.WaitAsync(TimeSpan.FromSeconds(30)), await onB.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    private static (Guid BetId, Guid UserId, Guid PoolId, Guid OutcomeId, long StakeMinor) Body(BetRecord bet) =>
        (bet.BetId, bet.UserId, bet.PoolId, bet.OutcomeId, bet.StakeMinor);

    /// <summary>Backends of betsdb waiting on a <see cref="PostgresRaceSteps.PauseWritesAsync(string, string, string, string)"/> lock.</summary>
    private Task<long> HeldInsertsAsync() => stack.ScalarAsync($"""
        SELECT count(*) FROM pg_locks
        WHERE locktype = 'advisory' AND NOT granted AND classid = {PostgresRaceSteps.PauseLockClass} AND objsubid = 2
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
        """);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_request_waiting_on_a_first_one_with_its_key_is_judged_on_its_own_when_the_first_was_refused_with_nothing_stored(bool sameBody)
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync(Funds);
        var services = stack.BetEngine;
        // Pools does not answer the first request's fetch of the pool (not cached yet) until the second is waiting on it.
        var pools = new FirstFetchFails(services.GetRequiredService<IPoolDirectory>());
        var placement = new BetPlacement(pools, services.GetRequiredService<EligibilityCache>(), services.GetRequiredService<BetStore>(),
            services.GetRequiredService<PoolBatchers>(), stack.Clock);
        var key = Guid.NewGuid().ToString();

        var first = placement.PlaceAsync(new PlaceBetCommand(player.Id, pool.Id, pool.Outcomes[0], 500, key), default);
        await pools.Reached.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var second = placement.PlaceAsync(new PlaceBetCommand(player.Id, pool.Id, pool.Outcomes[0], sameBody ? 500 : 700, key), default);
        pools.Release.SetResult();

        var refused = await first;
        Assert.Equal((null, BetRejectionCodes.DependencyUnavailable), (refused.Bet, refused.Rejection?.Code));
        // Nothing was stored under the key: neither "reused" nor a replay of a refusal, but its own answer.
        var answered = await second;
        Assert.True(answered.IsAccepted, $"Answered {answered.Rejection?.Code}");
        Assert.False(answered.Replayed);
        Assert.Equal(Funds - (sameBody ? 500 : 700), await stack.BalanceAsync(player.Account));
    }

    public enum Failure
    {
        /// <summary>While the cheap rules are checked, before the bet has an id.</summary>
        Admission,

        /// <summary>In its pool's batch, which fails every bet in it.</summary>
        Batch,
    }

    [Theory]
    [InlineData(Failure.Admission)]
    [InlineData(Failure.Batch)]
    public async Task A_request_waiting_on_a_first_one_with_its_key_is_told_to_retry_when_the_first_failed_unexpectedly(Failure where)
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync(Funds);
        var services = stack.BetEngine;
        var (directory, store) = (services.GetRequiredService<IPoolDirectory>(), services.GetRequiredService<BetStore>());
        // A bug's exception, thrown by the first read of the pool at the failing step; later reads pass.
        var broken = new FirstReadThrows(directory, where);
        var pipeline = where == Failure.Batch
            ? new BetBatchPipeline(store, services.GetRequiredService<StakeLedger>(), services.GetRequiredService<BatchFinalizer>(),
                services.GetRequiredService<OddsPublisher>(), broken, stack.Clock, NullLogger<BetBatchPipeline>.Instance)
            : services.GetRequiredService<BetBatchPipeline>();
        await using var batchers = new PoolBatchers(pipeline, services.GetRequiredService<IOptions<BetEngineOptions>>(), NullLogger<PoolBatchers>.Instance);
        var placement = new BetPlacement(where == Failure.Admission ? broken : directory, services.GetRequiredService<EligibilityCache>(), store, batchers, stack.Clock);
        var bet = new PlaceBetCommand(player.Id, pool.Id, pool.Outcomes[0], 500, Guid.NewGuid().ToString());

        var first = placement.PlaceAsync(bet, default);
        await broken.Reached.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var second = placement.PlaceAsync(bet, default);
        broken.Release.SetResult();

        // The first is the unexpected error itself (logged; a generic 500). The one waiting on it is told to retry (503).
        await Assert.ThrowsAsync<InvalidOperationException>(() => first);
        var answered = await second.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal((null, BetRejectionCodes.DependencyUnavailable), (answered.Bet, answered.Rejection?.Code));
        // Nothing was stored under the key: the retry is judged afresh, and placed once.
        var retried = await placement.PlaceAsync(bet, default);
        Assert.True(retried.IsAccepted, $"Answered {retried.Rejection?.Code}");
        Assert.Equal(Funds - 500, await stack.BalanceAsync(player.Account));
    }

    [Fact]
    public async Task A_replay_is_answered_from_the_store_even_when_its_pools_queue_is_full()
    {
        var pool = await stack.NewPoolAsync();
        var (player, opener, queued, turnedAway) = (await stack.NewPlayerAsync(Funds), await stack.NewPlayerAsync(Funds), await stack.NewPlayerAsync(Funds), await stack.NewPlayerAsync(Funds));
        var services = stack.BetEngine;
        // A replica whose pools may each have one bet waiting for its batch.
        await using var batchers = new PoolBatchers(services.GetRequiredService<BetBatchPipeline>(),
            Options.Create(new BetEngineOptions { MaxQueuedBetsPerPool = 1 }), NullLogger<PoolBatchers>.Instance);
        var placement = new BetPlacement(services.GetRequiredService<IPoolDirectory>(), services.GetRequiredService<EligibilityCache>(),
            services.GetRequiredService<BetStore>(), batchers, stack.Clock);
        var bet = new PlaceBetCommand(player.Id, pool.Id, pool.Outcomes[0], 500, Guid.NewGuid().ToString());
        var placed = await placement.PlaceAsync(bet, default);
        Assert.True(placed.IsAccepted, $"Answered {placed.Rejection?.Code}");

        using var hold = stack.StakeHold.Arm(pool.Id);
        Task<PlacementResult> opening, waiting;
        PlacementResult full, replay, reused;
        try
        {
            opening = placement.PlaceAsync(new PlaceBetCommand(opener.Id, pool.Id, pool.Outcomes[0], 500, Guid.NewGuid().ToString()), default);
            await hold.Reached.WaitAsync(TimeSpan.FromSeconds(30)); // its batch took it: the queue is empty
            waiting = batchers.EnqueueAsync(stack.Admit(queued, pool, pool.Outcomes[0], 500)); // and now full
            full = await batchers.EnqueueAsync(stack.Admit(turnedAway, pool, pool.Outcomes[0], 500));
            replay = await placement.PlaceAsync(bet, default).WaitAsync(TimeSpan.FromSeconds(5));
            reused = await placement.PlaceAsync(bet with { StakeMinor = 900 }, default).WaitAsync(TimeSpan.FromSeconds(5));
        }
        finally
        {
            hold.Release();
        }

        Assert.Equal(BetRejectionCodes.DependencyUnavailable, full.Rejection?.Code);
        Assert.Equal((placed.Bet, true), (replay.Bet, replay.Replayed));
        Assert.Equal(BetRejectionCodes.IdempotencyKeyReused, reused.Rejection?.Code);
        Assert.True((await opening).IsAccepted);
        Assert.True((await waiting).IsAccepted);
        Assert.Equal(Funds - 500, await stack.BalanceAsync(player.Account));
        Assert.Equal(1_500, await stack.BalanceAsync(pool.Escrow));
    }

    [Fact]
    public async Task Bets_refused_for_a_full_queue_look_for_a_replay_on_a_few_connections_at_most_and_the_rest_are_refused_unread()
    {
        var pool = await stack.NewPoolAsync();
        var (opener, queued) = (await stack.NewPlayerAsync(Funds), await stack.NewPlayerAsync(Funds));
        var turnedAway = new List<TestPlayer>();
        for (var i = 0; i <= BetPlacement.MaxBusyLookups; i++)
        {
            turnedAway.Add(await stack.NewPlayerAsync(Funds));
        }
        var services = stack.BetEngine;
        await using var batchers = new PoolBatchers(services.GetRequiredService<BetBatchPipeline>(),
            Options.Create(new BetEngineOptions { MaxQueuedBetsPerPool = 1 }), NullLogger<PoolBatchers>.Instance);
        var placement = new BetPlacement(services.GetRequiredService<IPoolDirectory>(), services.GetRequiredService<EligibilityCache>(),
            services.GetRequiredService<BetStore>(), batchers, stack.Clock);
        foreach (var player in turnedAway)
        {
            Assert.True((await placement.PlaceAsync(new PlaceBetCommand(player.Id, pool.Id, pool.Outcomes[0], 500, Guid.NewGuid().ToString()), default)).IsAccepted);
        }

        using var hold = stack.StakeHold.Arm(pool.Id);
        Task<PlacementResult> opening, waiting;
        Task<PlacementResult>[] lookingUp;
        PlacementResult unread;
        await using var locker = await stack.BetsDb.OpenConnectionAsync();
        try
        {
            opening = placement.PlaceAsync(new PlaceBetCommand(opener.Id, pool.Id, pool.Outcomes[0], 500, Guid.NewGuid().ToString()), default);
            await hold.Reached.WaitAsync(TimeSpan.FromSeconds(30)); // its batch took it: the queue is empty
            waiting = batchers.EnqueueAsync(stack.Admit(queued, pool, pool.Outcomes[0], 500)); // and now full
            // betsdb stalls: every lookup waits.
            await using var stall = await locker.BeginTransactionAsync();
            await new NpgsqlCommand("LOCK TABLE bets IN ACCESS EXCLUSIVE MODE", locker, stall).ExecuteNonQueryAsync();
            lookingUp = [.. turnedAway.Take(BetPlacement.MaxBusyLookups)
                .Select(p => placement.PlaceAsync(new PlaceBetCommand(p.Id, pool.Id, pool.Outcomes[0], 500, Guid.NewGuid().ToString()), default))];
            Assert.True(await BetEngineStack.EventuallyAsync(async () => await stack.ScalarAsync("""
                SELECT count(*) FROM pg_stat_activity
                WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%idempotency_key = $2%'
                """) == BetPlacement.MaxBusyLookups, TimeSpan.FromSeconds(30)), "The lookups did not all wait for betsdb");
            // One more is answered at once, without a connection: before, it waited for betsdb like the others.
            unread = await placement.PlaceAsync(new PlaceBetCommand(turnedAway[^1].Id, pool.Id, pool.Outcomes[0], 500, Guid.NewGuid().ToString()), default)
                .WaitAsync(TimeSpan.FromSeconds(5));
            await stall.RollbackAsync();
        }
        finally
        {
            hold.Release();
        }

        Assert.Equal(BetRejectionCodes.DependencyUnavailable, unread.Rejection?.Code);
        Assert.All(await Task.WhenAll(lookingUp), refused => Assert.Equal(BetRejectionCodes.DependencyUnavailable, refused.Rejection?.Code));
        Assert.True((await opening).IsAccepted);
        Assert.True((await waiting).IsAccepted);
    }

    /// <summary>The first read of a pool at <paramref name="where"/> waits for the test, then throws what no step expects.</summary>
    private sealed class FirstReadThrows(IPoolDirectory inner, Failure where) : IPoolDirectory
    {
        private int _reads;

        public TaskCompletionSource Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task<PoolSnapshot?> GetAsync(Guid poolId, CancellationToken cancellationToken)
        {
            if (where != Failure.Admission || Interlocked.Increment(ref _reads) > 1)
            {
                return await inner.GetAsync(poolId, cancellationToken);
            }
            Reached.SetResult();
            await Release.Task;
            throw new InvalidOperationException("A bug (test).");
        }

        public Task<PoolSnapshot?> GetFreshAsync(Guid poolId, CancellationToken cancellationToken, TimeSpan? within = null)
        {
            if (where != Failure.Batch || Interlocked.Increment(ref _reads) > 1)
            {
                return inner.GetFreshAsync(poolId, cancellationToken, within);
            }
            // Thrown, not returned as a faulted task: the batch itself fails, as with a bug outside its steps' guards.
            Reached.SetResult();
            Release.Task.Wait();
            throw new InvalidOperationException("A bug (test).");
        }

        public void MarkClosed(Guid poolId, PoolState state) => inner.MarkClosed(poolId, state);

        public void Invalidate(Guid poolId) => inner.Invalidate(poolId);
    }

    /// <summary>The first fetch of a pool waits for the test, then fails as if Pools did not answer; later ones pass.</summary>
    private sealed class FirstFetchFails(IPoolDirectory inner) : IPoolDirectory
    {
        private int _fetches;

        public TaskCompletionSource Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task<PoolSnapshot?> GetAsync(Guid poolId, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _fetches) > 1)
            {
                return await inner.GetAsync(poolId, cancellationToken);
            }
            Reached.SetResult();
            await Release.Task;
            throw new DependencyUnavailableException("Pools", new TimeoutException("No answer (test)."));
        }

        public Task<PoolSnapshot?> GetFreshAsync(Guid poolId, CancellationToken cancellationToken, TimeSpan? within = null) =>
            inner.GetFreshAsync(poolId, cancellationToken, within);

        public void MarkClosed(Guid poolId, PoolState state) => inner.MarkClosed(poolId, state);

        public void Invalidate(Guid poolId) => inner.Invalidate(poolId);
    }
}
