using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using StreamBets.BetEngine.Ledger;
using StreamBets.BetEngine.Odds;
using StreamBets.BetEngine.Placement;
using StreamBets.Contracts.Wallet;
using StreamBets.Testing;

namespace StreamBets.BetEngine.Tests;

/// <summary>Many bets on one pool at once: batched, each answered on its own, and the money adds up exactly.</summary>
[Collection(StackCollection.Name)]
public sealed class RushTests(BetEngineStack stack)
{
    private const long Funds = 10_000;

    [Fact]
    public async Task Fifty_concurrent_bets_from_different_users_on_one_pool_are_all_accepted_and_the_escrow_holds_their_sum()
    {
        var pool = await stack.NewPoolAsync(outcomes: 3);
        var players = await stack.NewPlayersAsync(50, Funds);
        var stakes = players.Select((_, i) => 100L + 37 * i).ToArray();
        var outcomeOf = players.Select((_, i) => pool.Outcomes[i % 3]).ToArray();
        var started = Stopwatch.StartNew();

        var responses = await Task.WhenAll(players.Select((p, i) => stack.BetClient(p).PlaceAsync(pool, outcomeOf[i], stakes[i])));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Created, r.StatusCode));
        Assert.Equal(stakes.Sum(), await stack.BalanceAsync(pool.Escrow));
        for (var i = 0; i < players.Length; i++)
        {
            Assert.Equal(Funds - stakes[i], await stack.BalanceAsync(players[i].Account));
        }
        Assert.Equal(50, await stack.BetsOfPoolAsync(pool.Id, "accepted"));

        // Live totals: betsdb at the answers, and Redis at the next odds tick, agree with the stakes, outcome by outcome.
        Assert.Equal(stakes.Sum(), await stack.ScalarAsync("SELECT sum(staked_minor) FROM pool_outcome_totals WHERE pool_id = $1", pool.Id));
        var expected = pool.Outcomes.ToDictionary(o => o, o => (stakes.Where((_, i) => outcomeOf[i] == o).Sum(), (long)outcomeOf.Count(x => x == o)));
        var liveTotals = stack.BetEngine.GetRequiredService<LiveTotals>();
        Assert.True(await BetEngineStack.EventuallyAsync(async () => await liveTotals.GetAsync(pool.Id) is var live
            && pool.Outcomes.All(o => live.GetValueOrDefault(o) == expected[o])), "Redis never held the pool's totals.");

        // BetsPlaced reached Pools through the outbox and the bus: its own totals count every stake once.
        Assert.True(await BetEngineStack.EventuallyAsync(async () => await PoolsStakedAsync(pool.Id) == stakes.Sum()));

        // OddsChanged is coalesced: at most 4 per second per pool, and the last one carries the final totals.
        var odds = await BetEngineStack.EventuallyAsync(async () => (await OddsChangedAsync(pool.Id)) is { Count: > 0 } seen
            && seen[^1].GetProperty("totalStakedMinor").GetInt64() == stakes.Sum());
        Assert.True(odds);
        var published = await OddsChangedAsync(pool.Id);
        Assert.InRange(published.Count, 1, 4 * (int)Math.Ceiling(started.Elapsed.TotalSeconds) + 1);
    }

    [Fact]
    public async Task Many_batches_in_a_short_window_publish_at_most_one_OddsChanged_per_odds_interval_and_the_last_carries_the_final_totals()
    {
        const int batches = 60;
        var interval = stack.BetEngine.GetRequiredService<IOptions<BetEngineOptions>>().Value.OddsInterval;
        var pool = await stack.NewPoolAsync();
        var players = await stack.NewPlayersAsync(2, Funds);
        var bets = Enumerable.Range(0, batches).Select(i => stack.Admit(players[i % 2], pool, pool.Outcomes[i % 2], 100 + i)).ToArray();
        var pipeline = stack.BetEngine.GetRequiredService<BetBatchPipeline>();

        // One bet per batch, one batch after another: every batch commits and marks the pool's odds as changed.
        var window = Stopwatch.StartNew();
        foreach (var bet in bets)
        {
            IReadOnlyList<PlacementResult> answers = [];
            await pipeline.RunAsync(pool.Id, [bet], results => answers = results, default);
            Assert.True(Assert.Single(answers).IsAccepted);
        }
        window.Stop();

        var total = bets.Sum(b => b.Command.StakeMinor);
        Assert.True(await BetEngineStack.EventuallyAsync(async () => await OddsChangedAsync(pool.Id) is { Count: > 0 } seen
            && seen[^1].GetProperty("totalStakedMinor").GetInt64() == total), "No OddsChanged carried the final totals.");
        var published = await OddsChangedAsync(pool.Id);

        // At most one per tick of the interval within the window, and one more at the tick after the last batch.
        var atMost = (int)Math.Ceiling(window.Elapsed / interval) + 1;
        // Publishing per batch would publish once per batch: the bound must be below that to tell them apart (a box
        // where one-bet batches take a quarter of a second each would not tell them apart, and says so).
        Assert.True(atMost < batches, $"The {batches} batches took {window.Elapsed}: too long to tell coalescing from publishing per batch.");
        Assert.InRange(published.Count, 1, atMost);
        var last = published[^1].GetProperty("outcomes").EnumerateArray()
            .ToDictionary(o => o.GetProperty("outcomeId").GetGuid(), o => (o.GetProperty("stakedMinor").GetInt64(), o.GetProperty("betCount").GetInt32()));
        Assert.Equal(
            pool.Outcomes.ToDictionary(o => o, o => (bets.Where(b => b.Command.OutcomeId == o).Sum(b => b.Command.StakeMinor), bets.Count(b => b.Command.OutcomeId == o))),
            last);
    }

    [Fact]
    public async Task Bets_queued_behind_a_running_batch_are_committed_together_by_the_next_batch_in_one_ledger_call()
    {
        const int queued = 12;
        var pool = await stack.NewPoolAsync(outcomes: 3);
        var opener = await stack.NewPlayerAsync(Funds);
        var players = await stack.NewPlayersAsync(queued, Funds);
        var stakes = players.Select((_, i) => 200L + 13 * i).ToArray();
        var batchers = stack.BetEngine.GetRequiredService<PoolBatchers>();
        using var spans = new RecordedActivities(BetBatchPipeline.ActivitySource.Name);

        Task<HttpResponseMessage> opening;
        Task<HttpResponseMessage[]> waiting;
        int ledgerCallsWhileHeld;
        using (var hold = stack.StakeHold.Arm(pool.Id))
        {
            // The opening bet's batch has moved its stake and waits for the ledger's answer: the pool's batcher is busy.
            opening = stack.BetClient(opener).PlaceAsync(pool, pool.Outcomes[0], 100);
            await hold.Reached.WaitAsync(TimeSpan.FromSeconds(30));
            waiting = Task.WhenAll(players.Select((p, i) => stack.BetClient(p).PlaceAsync(pool, pool.Outcomes[i % 3], stakes[i])));
            Assert.True(await BetEngineStack.EventuallyAsync(() => Task.FromResult(batchers.QueuedBets(pool.Id) == queued)), "The bets were never all queued.");
            ledgerCallsWhileHeld = StakeCallsInto(pool).Count;
        }

        Assert.Equal(HttpStatusCode.Created, (await opening.WaitAsync(TimeSpan.FromSeconds(30))).StatusCode);
        Assert.All(await waiting.WaitAsync(TimeSpan.FromSeconds(30)), r => Assert.Equal(HttpStatusCode.Created, r.StatusCode));

        // One batch took every queued bet, and moved all their stakes in one TransferBatch.
        Assert.Equal(1, ledgerCallsWhileHeld);
        var calls = StakeCallsInto(pool);
        Assert.Equal(2, calls.Count);
        Assert.Equal(
            players.Select(p => p.Account).Order(),
            calls[1].Transfers.SelectMany(t => t.Legs).Where(l => l.ToAccount == pool.Escrow).Select(l => l.FromAccount).Order());
        List<Activity> poolBatches = [];
        Assert.True(await BetEngineStack.EventuallyAsync(() => Task.FromResult((poolBatches = [.. spans.Stopped.Where(a =>
            a.DisplayName == "bet batch" && a.GetTagItem("streambets.pool_id") is Guid id && id == pool.Id)]).Count == 2)), "The batches' spans never ended.");
        Assert.Equal([1, queued], poolBatches.Select(b => (int)b.GetTagItem("streambets.bets.batch_size")!).Order());

        Assert.Equal(100 + stakes.Sum(), await stack.BalanceAsync(pool.Escrow));
        for (var i = 0; i < players.Length; i++)
        {
            Assert.Equal(Funds - stakes[i], await stack.BalanceAsync(players[i].Account));
        }
        Assert.Equal(queued + 1, await stack.BetsOfPoolAsync(pool.Id, "accepted"));
    }

    [Fact]
    public async Task Live_totals_in_Redis_only_rise_so_an_older_publish_arriving_late_cannot_move_them_back()
    {
        var liveTotals = stack.BetEngine.GetRequiredService<LiveTotals>();
        var (poolId, yes, no) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        Dictionary<Guid, List<(Guid, long, long)>> Totals(params (Guid Outcome, long Staked, long Bets)[] outcomes) =>
            new() { [poolId] = [.. outcomes] };

        await liveTotals.RaiseToAsync(Totals((yes, 900, 3)));
        await liveTotals.RaiseToAsync(Totals((yes, 500, 2), (no, 200, 1)));  // another replica's older read, then a new outcome

        var live = await liveTotals.GetAsync(poolId);
        Assert.Equal((900L, 3L), live[yes]);
        Assert.Equal((200L, 1L), live[no]);
        var ttl = await stack.BetEngine.GetRequiredService<IConnectionMultiplexer>().GetDatabase().KeyTimeToLiveAsync(LiveTotals.Key(poolId));
        Assert.InRange(ttl!.Value, LiveTotals.KeepFor - TimeSpan.FromMinutes(1), LiveTotals.KeepFor);
    }

    [Fact]
    public async Task Live_totals_are_written_after_redis_forgot_its_scripts()
    {
        var liveTotals = stack.BetEngine.GetRequiredService<LiveTotals>();
        var (poolId, yes) = (Guid.NewGuid(), Guid.NewGuid());
        await liveTotals.RaiseToAsync(new Dictionary<Guid, List<(Guid, long, long)>> { [poolId] = [(yes, 100, 1)] });

        // A restart, a failover or SCRIPT FLUSH: a script sent by its hash alone is answered NOSCRIPT.
        await using (var admin = await ConnectionMultiplexer.ConnectAsync($"{stack.RedisConnectionString},allowAdmin=true"))
        {
            await admin.GetServers().Single().ScriptFlushAsync();
        }
        await liveTotals.RaiseToAsync(new Dictionary<Guid, List<(Guid, long, long)>> { [poolId] = [(yes, 300, 2)] }).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal((300L, 2L), (await liveTotals.GetAsync(poolId))[yes]);
    }

    [Fact]
    public async Task Insufficient_funds_in_the_middle_of_a_batch_rejects_only_that_bet()
    {
        var pool = await stack.NewPoolAsync();
        var players = await stack.NewPlayersAsync(4, Funds);
        var poor = await stack.NewPlayerAsync(300);
        TestPlayer[] inOrder = [players[0], players[1], poor, players[2], players[3]];
        var arrivedAt = RecoveryTests.Now(stack);
        var batch = inOrder.Select((p, i) => new AdmittedBet(
            new PlaceBetCommand(p.Id, pool.Id, pool.Outcomes[i % 2], 1_000, $"rush-{i}"), Guid.CreateVersion7(), arrivedAt.AddTicks(10 * i))).ToArray();

        IReadOnlyList<PlacementResult> answers = [];
        await stack.BetEngine.GetRequiredService<BetBatchPipeline>().RunAsync(pool.Id, batch, results => answers = results, default);

        Assert.Equal([true, true, false, true, true], answers.Select(a => a.IsAccepted));
        Assert.Equal(BetRejectionCodes.InsufficientFunds, answers[2].Rejection?.Code);
        Assert.Equal(batch[2].BetId, answers[2].Bet?.BetId);
        Assert.Equal(300, await stack.BalanceAsync(poor.Account));
        foreach (var player in players)
        {
            Assert.Equal(Funds - 1_000, await stack.BalanceAsync(player.Account));
        }
        Assert.Equal(4_000, await stack.BalanceAsync(pool.Escrow));
    }

    [Fact]
    public async Task An_OddsChanged_leads_back_to_the_batches_that_changed_the_odds()
    {
        using var recorded = new RecordedActivities(BetBatchPipeline.ActivitySource.Name);
        var pool = await stack.NewPoolAsync();
        var player = (await stack.NewPlayersAsync(1, Funds))[0];

        Assert.Equal(HttpStatusCode.Created, (await stack.BetClient(player).PlaceAsync(pool, pool.Outcomes[0], 500)).StatusCode);

        List<PublishedEvent> published = [];
        Assert.True(await BetEngineStack.EventuallyAsync(async () => (published = await stack.PublishedEventsAsync("bets", "streambets.bets.odds-changed.v1", pool.Id)).Count > 0));
        var stopped = recorded.Stopped;
        var batch = Assert.Single(stopped, a => a.DisplayName == "bet batch" && a.GetTagItem("streambets.pool_id") is Guid id && id == pool.Id);
        var publish = Assert.Single(stopped, a => a.DisplayName == "publish odds" && a.Links.Any(l => l.Context.SpanId == batch.SpanId));
        Assert.Equal(batch.TraceId, publish.Links.Single(l => l.Context.SpanId == batch.SpanId).Context.TraceId);
        Assert.NotEqual(batch.TraceId, publish.TraceId);
        Assert.Equal(publish.TraceId.ToString(), published[0].TraceParent?.Split('-')[1]);
    }

    [Fact]
    public async Task Each_bet_request_links_to_the_batch_that_answered_it_and_every_batch_is_a_trace_of_its_own()
    {
        using var batches = new RecordedActivities(BetBatchPipeline.ActivitySource.Name);
        using var requests = new RecordedActivities("Microsoft.AspNetCore");
        var pool = await stack.NewPoolAsync();
        var players = await stack.NewPlayersAsync(2, Funds);

        // One after another, so the pool's batcher (started by the first bet) answers the second in a batch of its own.
        foreach (var player in players)
        {
            Assert.Equal(HttpStatusCode.Created, (await stack.BetClient(player).PlaceAsync(pool, pool.Outcomes[0], 500)).StatusCode);
        }

        // A batch's span ends after its after-commit work, which runs once the bets are answered; a request's span
        // may end just after its client read the response.
        List<Activity> poolBatches = [];
        List<Activity> linked = [];
        Assert.True(await BetEngineStack.EventuallyAsync(() =>
        {
            poolBatches = [.. batches.Stopped.Where(a => a.DisplayName == "bet batch" && a.GetTagItem("streambets.pool_id") is Guid id && id == pool.Id)];
            linked = [.. requests.Stopped.Where(r => r.Links.Any(l => poolBatches.Any(b => b.SpanId == l.Context.SpanId)))];
            return Task.FromResult(poolBatches.Count == 2 && linked.Count == 2);
        }));
        Assert.All(poolBatches, batch => Assert.Equal(default, batch.ParentSpanId));
        Assert.Equal(2, linked.SelectMany(r => r.Links).Select(l => l.Context.SpanId).Intersect(poolBatches.Select(b => b.SpanId)).Count());
    }

    private async Task<long> PoolsStakedAsync(Guid poolId)
    {
        using var json = JsonDocument.Parse(await stack.PoolsHttp.GetStringAsync($"/api/pools/{poolId}"));
        return json.RootElement.GetProperty("outcomes").EnumerateArray().Sum(o => o.GetProperty("stakedMinor").GetInt64());
    }

    /// <summary>The Bet Engine's stake TransferBatch calls into the pool's escrow, in the order they were sent.</summary>
    private List<TransferBatchRequest> StakeCallsInto(TestPool pool) =>
        [.. stack.LedgerCalls.Sent.Where(call => call.Transfers.Any(t => t.Reason == StakeLedger.StakeReason && t.Legs.Any(l => l.ToAccount == pool.Escrow)))];

    private Task<List<JsonElement>> OddsChangedAsync(Guid poolId) => stack.PublishedAsync("bets", "streambets.bets.odds-changed.v1", poolId);
}
