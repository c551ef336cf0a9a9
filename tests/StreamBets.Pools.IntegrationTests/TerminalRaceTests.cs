using System.Net;
using Microsoft.Extensions.DependencyInjection;
using StreamBets.Pools.Configuration;
using StreamBets.Pools.Management;
using Xunit.Abstractions;

namespace StreamBets.Pools.IntegrationTests;

/// <summary>
/// A pool's money goes one way only: however its terminal transitions race (a streamer's resolve, an admin's cancel, the
/// sweeper's auto-cancel; a lock by hand and the sweeper's lock at window end), it ends in one state, with one event for
/// it in the outbox, written in the very transaction that stored it, and every loser is told so with a stable problem type.
/// Each test races its calls on many pools at once, all released together.
/// </summary>
public sealed class TerminalRaceTests(PoolsApp app, ITestOutputHelper output) : IClassFixture<PoolsApp>
{
    private const int Pools = 30;
    private const string Locked = "streambets.pools.locked.v1";
    private const string Resolved = "streambets.pools.resolved.v1";
    private const string Cancelled = "streambets.pools.cancelled.v1";
    private const string InvalidTransition = "https://streambets.dev/problems/invalid-transition";
    private const string PoolNotOpen = "https://streambets.dev/problems/pool-not-open";

    public static TheoryData<string, string> RacingHands => new()
    {
        { "streamer resolves", "admin cancels" },
        { "streamer cancels", "admin cancels" },
        { "streamer resolves", "admin resolves" },
    };

    [Theory]
    [MemberData(nameof(RacingHands))]
    public async Task Of_two_terminal_calls_on_a_locked_pool_at_once_one_wins_and_the_other_is_refused_as_an_invalid_transition(string first, string second)
    {
        using var streamer = app.NewStreamer(out _);
        using var admin = app.Admin();
        var pools = await LockedPoolsAsync(streamer);

        var go = Go();
        var races = pools.Select(pool => (
            Pool: pool,
            First: Racer(go, () => Act(first, streamer, admin, pool)),
            Second: Racer(go, () => Act(second, streamer, admin, pool)))).ToList();
        go.SetResult();
        await Task.WhenAll(races.SelectMany(r => new[] { r.First, r.Second }));

        var firstWon = 0;
        foreach (var (pool, firstCall, secondCall) in races)
        {
            using var a = await firstCall;
            using var b = await secondCall;
            var (winner, winnerCall, loser) = a.StatusCode == HttpStatusCode.OK ? (first, a, b) : (second, b, a);
            Assert.Equal(HttpStatusCode.OK, winnerCall.StatusCode);
            await AssertRefusedAsync(loser, InvalidTransition);
            firstWon += winner == first ? 1 : 0;

            var ended = await AssertEndedOnceAsync(pool);
            Assert.Equal(winner.EndsWith("resolves") ? "resolved" : "cancelled", ended.State);
            if (winner.EndsWith("resolves"))
            {
                Assert.Equal([Winner(winner, pool)], ended.WinningOutcomeIds);
            }
            else
            {
                Assert.Equal(winner.StartsWith("admin") ? "operator" : "streamer", ended.Reason);
            }
            // The admin's call is on the record only when it won, and once.
            Assert.Equal(winner.StartsWith("admin") ? 1 : 0, await AdminTerminalRecordsAsync(pool.Id));
            if (winner.StartsWith("admin"))
            {
                Assert.Equal(winner.EndsWith("resolves") ? AdminChanges.PoolResolved : AdminChanges.PoolCancelled,
                    await app.ScalarAsync<string>("SELECT action FROM admin_changes WHERE subject = $1", pool.Id.ToString()));
            }
        }
        output.WriteLine($"{first} won {firstWon} of {Pools}, {second} won {Pools - firstWon}.");
    }

    [Fact]
    public async Task A_resolve_and_an_admins_cancel_racing_the_sweepers_auto_cancel_of_an_overdue_pool_end_it_one_way_with_one_event()
    {
        using var streamer = app.NewStreamer(out _);
        using var admin = app.Admin();
        var pools = await LockedPoolsAsync(streamer);
        var commands = app.Services.GetRequiredService<PoolCommands>();
        var term = (await app.Services.GetRequiredService<PoolsSettingsProvider>().GetAsync(CancellationToken.None)).AbandonedAfter;

        // The streamer's resolve and the admin's cancel go first (a request takes a few milliseconds to reach the
        // database), then the clock passes every pool's term: the app's own sweeper starts cancelling them at this tick,
        // and a second replica's sweep of each pool goes at once.
        var (go, due) = (Go(), Go());
        var races = pools.Select(pool => (
            Pool: pool,
            Resolve: Racer(go, () => Act("streamer resolves", streamer, admin, pool)),
            Cancel: Racer(go, () => Act("admin cancels", streamer, admin, pool)),
            Sweep: Racer(due, () => commands.CancelIfAbandonedAsync(pool.Id, term, CancellationToken.None)))).ToList();
        go.SetResult();
        app.Clock.Advance(term + TimeSpan.FromSeconds(1));
        due.SetResult();
        await Task.WhenAll(races.SelectMany(r => new Task[] { r.Resolve, r.Cancel, r.Sweep }));

        var wins = new Dictionary<string, int> { ["resolve"] = 0, ["cancel"] = 0, ["sweeper"] = 0 };
        foreach (var (pool, resolveCall, cancelCall, sweepCall) in races)
        {
            using var resolve = await resolveCall;
            using var cancel = await cancelCall;
            Assert.True((await sweepCall).IsSuccess, $"The sweeper's cancel of pool {pool.Id} failed: {(await sweepCall).Error}");

            var ended = await AssertEndedOnceAsync(pool);
            var winner = ended switch
            {
                { State: "resolved" } => "resolve",
                { Reason: "operator" } => "cancel",
                { Reason: "resolution-timeout" } => "sweeper",
                _ => throw new Xunit.Sdk.XunitException($"Pool {pool.Id} ended {ended.State} ({ended.Reason}): no racer's outcome."),
            };
            wins[winner]++;
            Assert.Equal(winner == "resolve" ? HttpStatusCode.OK : HttpStatusCode.Conflict, resolve.StatusCode);
            Assert.Equal(winner == "cancel" ? HttpStatusCode.OK : HttpStatusCode.Conflict, cancel.StatusCode);
            if (winner != "resolve")
            {
                await AssertRefusedAsync(resolve, InvalidTransition);
            }
            else
            {
                Assert.Equal([pool.Outcomes[0].Id], ended.WinningOutcomeIds);
            }
            if (winner != "cancel")
            {
                await AssertRefusedAsync(cancel, InvalidTransition);
            }
            Assert.Equal(winner == "cancel" ? 1 : 0, await AdminTerminalRecordsAsync(pool.Id));
        }
        output.WriteLine(string.Join(", ", wins.Select(w => $"{w.Key} won {w.Value}")));
    }

    [Fact]
    public async Task A_lock_by_hand_racing_the_sweepers_lock_at_window_end_locks_the_pool_once_and_a_late_hand_is_refused_as_not_open()
    {
        using var streamer = app.NewStreamer(out _);
        var pools = await Task.WhenAll(Enumerable.Range(0, Pools).Select(_ => streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel(), window: 60))));
        var commands = app.Services.GetRequiredService<PoolCommands>();

        // The hands go first (a request takes a few milliseconds to reach the database), then every window ends: the
        // app's own sweeper locks the pools from this tick, and a second replica's sweep of each pool goes at once.
        var (go, due) = (Go(), Go());
        var races = pools.Select(pool => (
            Pool: pool,
            Lock: Racer(go, () => streamer.ActAsync(pool.Id, "lock")),
            Sweep: Racer(due, () => commands.LockIfDueAsync(pool.Id, CancellationToken.None)))).ToList();
        go.SetResult();
        app.Clock.Advance(TimeSpan.FromSeconds(61));
        due.SetResult();
        await Task.WhenAll(races.SelectMany(r => new Task[] { r.Lock, r.Sweep }));

        var byHand = 0;
        foreach (var (pool, lockCall, sweepCall) in races)
        {
            using var locked = await lockCall;
            Assert.True((await sweepCall).IsSuccess, $"The sweeper's lock of pool {pool.Id} failed: {(await sweepCall).Error}");
            if (locked.StatusCode == HttpStatusCode.OK)
            {
                byHand++;
            }
            else
            {
                await AssertRefusedAsync(locked, PoolNotOpen);
            }

            var stored = await streamer.GetPoolAsync(pool.Id);
            Assert.Equal("locked", stored.State);
            // A hand that got there before the window ended locks it then; otherwise betting closed at the window's end.
            Assert.True(stored.LockedAt <= pool.LocksAt, $"Pool {pool.Id} locked at {stored.LockedAt}, after its window ended at {pool.LocksAt}.");
            var writes = await app.PoolWritesAsync(pool.Id);
            Assert.Equal(["open", "locked"], writes.Select(w => w.State));
            var events = await app.EventsAsync(pool.Id);
            var lockEvent = Assert.Single(events, e => e.Type == Locked);
            Assert.Equal(writes[1].TxId, lockEvent.TxId);
            Assert.DoesNotContain(events, e => e.Type is Resolved or Cancelled);
        }
        output.WriteLine($"The hand locked {byHand} of {Pools}, the sweeper {Pools - byHand}.");
    }

    [Fact]
    public async Task A_resolve_and_an_admins_cancel_racing_the_sweepers_lock_of_a_pool_whose_window_just_ended_lock_it_once_and_end_it_once()
    {
        using var streamer = app.NewStreamer(out _);
        using var admin = app.Admin();
        var pools = await Task.WhenAll(Enumerable.Range(0, Pools).Select(_ => streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel(), window: 60))));
        var commands = app.Services.GetRequiredService<PoolCommands>();

        // Each call that wins locks the pool first (whoever saves first records the lock), and a loser that saw it open
        // tries again on the locked row and then on the ended one: it must still get the domain's answer.
        var go = Go();
        var races = pools.Select(pool => (
            Pool: pool,
            Resolve: Racer(go, () => Act("streamer resolves", streamer, admin, pool)),
            Cancel: Racer(go, () => Act("admin cancels", streamer, admin, pool)),
            Sweep: Racer(go, () => commands.LockIfDueAsync(pool.Id, CancellationToken.None)))).ToList();
        app.Clock.Advance(TimeSpan.FromSeconds(61)); // every window ends: the app's own sweeper locks them from this tick
        go.SetResult();
        await Task.WhenAll(races.SelectMany(r => new Task[] { r.Resolve, r.Cancel, r.Sweep }));

        var resolvedCount = 0;
        foreach (var (pool, resolveCall, cancelCall, sweepCall) in races)
        {
            using var resolve = await resolveCall;
            using var cancel = await cancelCall;
            Assert.True((await sweepCall).IsSuccess, $"The sweeper's lock of pool {pool.Id} failed: {(await sweepCall).Error}");

            var ended = await AssertEndedOnceAsync(pool);
            var resolved = ended.State == "resolved";
            resolvedCount += resolved ? 1 : 0;
            Assert.Equal(resolved ? HttpStatusCode.OK : HttpStatusCode.Conflict, resolve.StatusCode);
            Assert.Equal(resolved ? HttpStatusCode.Conflict : HttpStatusCode.OK, cancel.StatusCode);
            await AssertRefusedAsync(resolved ? cancel : resolve, InvalidTransition);
            if (!resolved)
            {
                Assert.Equal("operator", ended.Reason);
            }
            var lockEvent = Assert.Single(await app.EventsAsync(pool.Id), e => e.Type == Locked);
            Assert.Equal(pool.LocksAt, lockEvent.Data.GetProperty("lockedAt").GetDateTimeOffset());
            Assert.Equal(resolved ? 0 : 1, await AdminTerminalRecordsAsync(pool.Id));
        }
        output.WriteLine($"resolve won {resolvedCount} of {Pools}, cancel won {Pools - resolvedCount}.");
    }

    /// <summary>How one racer acts on a pool: the streamer's or an admin's resolve (each naming another winner) or cancel.</summary>
    private static Task<HttpResponseMessage> Act(string hand, HttpClient streamer, HttpClient admin, PoolJson pool) => hand switch
    {
        "streamer resolves" or "admin resolves" =>
            (hand.StartsWith("admin") ? admin : streamer).ActAsync(pool.Id, "resolve", new { winningOutcomeIds = new[] { Winner(hand, pool) } }),
        "streamer cancels" => streamer.ActAsync(pool.Id, "cancel"),
        "admin cancels" => admin.ActAsync(pool.Id, "cancel"),
        _ => throw new ArgumentOutOfRangeException(nameof(hand), hand, null),
    };

    private static Guid Winner(string hand, PoolJson pool) => pool.Outcomes[hand.StartsWith("admin") ? 1 : 0].Id;

    private async Task<PoolJson[]> LockedPoolsAsync(HttpClient streamer)
    {
        var pools = await Task.WhenAll(Enumerable.Range(0, Pools).Select(_ => streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel()))));
        foreach (var pool in pools)
        {
            using var locked = await streamer.ActAsync(pool.Id, "lock");
            Assert.Equal(HttpStatusCode.OK, locked.StatusCode);
        }
        return pools;
    }

    private static TaskCompletionSource Go() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>A call that waits on the thread pool for <paramref name="go"/>, so every racer is released at once.</summary>
    private static Task<T> Racer<T>(TaskCompletionSource go, Func<Task<T>> act) => Task.Run(async () =>
    {
        await go.Task;
        return await act();
    });

    private static async Task AssertRefusedAsync(HttpResponseMessage response, string problemType)
    {
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(problemType, (await response.ProblemAsync()).Type);
    }

    private sealed record Ending(string State, string? Reason, Guid[] WinningOutcomeIds);

    /// <summary>
    /// Asserts the pool ended once: one terminal write of its row, one terminal event, written by that same transaction,
    /// and the stored pool agreeing with the event. Answers how it ended; the reason is the PoolCancelled contract's.
    /// </summary>
    private async Task<Ending> AssertEndedOnceAsync(PoolJson pool)
    {
        var writes = await app.PoolWritesAsync(pool.Id);
        var events = await app.EventsAsync(pool.Id);
        var terminalWrite = Assert.Single(writes, w => w.State is "resolved" or "cancelled");
        Assert.Equal(terminalWrite, writes[^1]);
        var terminal = Assert.Single(events, e => e.Type is Resolved or Cancelled);
        Assert.Equal(terminalWrite.TxId, terminal.TxId);
        Assert.Single(events, e => e.Type == Locked);

        using var reader = app.Player();
        var stored = await reader.GetPoolAsync(pool.Id);
        Assert.Equal(terminalWrite.State, stored.State);
        if (terminal.Type == Resolved)
        {
            Assert.Equal("resolved", stored.State);
            var winners = terminal.Data.GetProperty("winningOutcomeIds").EnumerateArray().Select(e => e.GetGuid()).ToArray();
            Assert.Equal(winners, stored.WinningOutcomeIds);
            Assert.Null(stored.CancellationReason);
            return new Ending("resolved", null, winners);
        }

        Assert.Equal("cancelled", stored.State);
        Assert.Empty(stored.WinningOutcomeIds);
        var reason = terminal.Data.GetProperty("reason").GetString();
        Assert.Equal(reason == "resolution-timeout" ? "abandoned" : "manual", stored.CancellationReason);
        return new Ending("cancelled", reason, []);
    }

    /// <summary>The admins' recorded resolves and cancels of the pool: one when an admin's call won, none otherwise.</summary>
    private async Task<long> AdminTerminalRecordsAsync(Guid poolId) =>
        await app.ScalarAsync<long>(
            "SELECT count(*) FROM admin_changes WHERE subject = $1 AND action = ANY($2)",
            poolId.ToString(), new[] { AdminChanges.PoolResolved, AdminChanges.PoolCancelled });
}
