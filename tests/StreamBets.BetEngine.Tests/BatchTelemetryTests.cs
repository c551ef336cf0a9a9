using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StreamBets.BetEngine.Data;
using StreamBets.BetEngine.Ledger;
using StreamBets.BetEngine.Odds;
using StreamBets.BetEngine.Placement;
using StreamBets.BetEngine.Pools;
using StreamBets.Testing;

namespace StreamBets.BetEngine.Tests;

/// <summary>
/// What the on-call sees of batches that do not go well: a Users ledger outage shows as bets answered pending (and later
/// decided by recovery) in <c>streambets.bets.decisions</c>, a queue building behind a slow pool in
/// <c>streambets.bets.queued</c>, and a failed batch as a failed <c>bet batch</c> span whose log is in its trace.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class BatchTelemetryTests(BetEngineStack stack)
{
    private const long Funds = 10_000;

    private PendingBetRecovery Recovery => stack.BetEngine.GetRequiredService<PendingBetRecovery>();

    [Fact]
    public async Task Bets_a_batch_leaves_pending_are_counted_pending_and_counted_again_when_recovery_decides_them()
    {
        var (pool, batch) = await StageAsync();
        using var decisions = new RecordedMeasurements("streambets.bets.decisions");

        // The ledger moves the stakes and its answer is lost: the batch cannot know, so its bets stay pending.
        IReadOnlyList<PlacementResult> told = [];
        await RunWithLostLedgerAnswerAsync(stack.BetEngine.GetRequiredService<BetBatchPipeline>(), pool, batch, answers => told = answers);

        Assert.All(told, answer => Assert.Equal(BetStatus.Pending, answer.Bet?.Status));
        var live = decisions.Measurements.Where(m => Equals(m.Tags.GetValueOrDefault("path"), "live")).ToList();
        Assert.Equal(batch.Length, live.Count);
        Assert.All(live, m => Assert.Equal("1 Pending ", $"{m.Value} {m.Tags["status"]} {m.Tags["code"]}"));

        var report = await Recovery.RecoverAsync(TimeSpan.Zero, default);

        Assert.Equal(batch.Length, await stack.BetsOfPoolAsync(pool.Id, "accepted"));
        Assert.Equal(batch.Sum(b => b.Command.StakeMinor), await stack.BalanceAsync(pool.Escrow));
        // Recovery counts what it decided (this pool's bets, and any others it found pending), and only that.
        var recovered = decisions.Measurements.Where(m => Equals(m.Tags.GetValueOrDefault("path"), "recovery")).ToList();
        Assert.InRange(report.Redriven, batch.Length, int.MaxValue);
        Assert.Equal(report.Redriven, recovered.Sum(m => m.Value));
        Assert.Equal(report.Accepted, recovered.Where(m => Equals(m.Tags["status"], "Accepted")).Sum(m => m.Value));
        Assert.Equal(report.Rejected, recovered.Where(m => Equals(m.Tags["status"], "Rejected")).Sum(m => m.Value));
        Assert.Equal(batch.Length, decisions.Measurements.Count(m => Equals(m.Tags.GetValueOrDefault("path"), "live")));
        Assert.All(decisions.Measurements, m => Assert.Equal(new[] { "code", "path", "status" }, m.Tags.Keys.Order()));
        await stack.AssertLedgerExactAsync();
    }

    [Fact]
    public async Task Bets_waiting_behind_a_held_batch_show_in_the_queued_gauge_and_it_falls_to_zero_once_they_are_placed()
    {
        var (pool, batch) = await StageAsync();
        var batchers = stack.BetEngine.GetRequiredService<PoolBatchers>();
        using var queued = new RecordedMeasurements("streambets.bets.queued");

        using var hold = stack.StakeHold.Arm(pool.Id);
        Task<PlacementResult>[] answers;
        long whileHeld;
        try
        {
            var opening = batchers.EnqueueAsync(batch[0]);
            await hold.Reached.WaitAsync(TimeSpan.FromSeconds(30)); // its batch took it and waits for the ledger
            answers = [opening, batchers.EnqueueAsync(batch[1]), batchers.EnqueueAsync(batch[2])];
            Assert.True(await BetEngineStack.EventuallyAsync(() => Task.FromResult(batchers.QueuedBets(pool.Id) == 2)), "The bets were never queued.");
            whileHeld = queued.Observe();
        }
        finally
        {
            hold.Release();
        }
        Assert.All(await Task.WhenAll(answers).WaitAsync(TimeSpan.FromSeconds(30)), answer => Assert.True(answer.IsAccepted));

        Assert.Equal(2, whileHeld);
        Assert.Equal(0, queued.Observe());
        Assert.All(queued.Measurements, m => Assert.Empty(m.Tags)); // no pool tag: one series per replica
        Assert.Equal(batch.Sum(b => b.Command.StakeMinor), await stack.BalanceAsync(pool.Escrow));
    }

    [Fact]
    public async Task A_batch_whose_stakes_cannot_be_moved_is_a_failed_span_and_its_log_is_in_the_batchs_trace()
    {
        var (pool, batch) = await StageAsync();
        var logs = new CollectedLogs();
        using var loggers = LoggerFactory.Create(logging => logging.AddProvider(logs));
        using var spans = new RecordedActivities(BetBatchPipeline.ActivitySource.Name);

        await RunWithLostLedgerAnswerAsync(Pipeline(loggers, stack.BetEngine.GetRequiredService<IPoolDirectory>()), pool, batch, _ => { });

        var span = BatchSpanOf(spans, pool);
        Assert.Equal(ActivityStatusCode.Error, span.Status);
        Assert.Equal(typeof(DependencyUnavailableException).FullName, ExceptionTypeIn(span));
        var log = Assert.Single(logs.Records, r => r.EventName == "BatchStepFailed");
        Assert.Equal("move stakes or finalize", log["Step"]);
        Assert.Equal(span.TraceId, log.TraceId);

        await Recovery.RecoverAsync(TimeSpan.Zero, default); // the bets left pending are decided, their stakes moved once
        Assert.Equal(batch.Length, await stack.BetsOfPoolAsync(pool.Id, "accepted"));
        await stack.AssertLedgerExactAsync();
    }

    [Fact]
    public async Task A_batch_that_fails_unexpectedly_is_a_failed_span_and_BatchFailed_is_logged_once_in_its_trace()
    {
        var (pool, batch) = await StageAsync();
        var logs = new CollectedLogs();
        using var loggers = LoggerFactory.Create(logging => logging.AddProvider(logs));
        using var spans = new RecordedActivities(BetBatchPipeline.ActivitySource.Name);
        // Every step handles its dependencies' failures; what is left is a defect, here in the code answering the batch.
        var defect = new InvalidOperationException("A defect in answering the batch (test).");
        var running = Pipeline(loggers, stack.BetEngine.GetRequiredService<IPoolDirectory>()).RunAsync(pool.Id, batch, _ => throw defect, CancellationToken.None);
        Assert.Same(defect, await Assert.ThrowsAsync<InvalidOperationException>(() => running.WaitAsync(TimeSpan.FromSeconds(30))));

        var span = BatchSpanOf(spans, pool);
        Assert.Equal(ActivityStatusCode.Error, span.Status);
        Assert.Equal(typeof(InvalidOperationException).FullName, ExceptionTypeIn(span));
        var log = Assert.Single(logs.Records, r => r.EventName == "BatchFailed");
        Assert.Equal((LogLevel.Error, pool.Id, true), (log.Level, log["PoolId"], log["Answered"]));
        Assert.Equal(span.TraceId, log.TraceId);
        Assert.Equal(batch.Length, await stack.BetsOfPoolAsync(pool.Id, "accepted")); // it failed after its commit
        await stack.AssertLedgerExactAsync();
    }

    [Fact]
    public async Task A_dependency_timing_out_as_a_cancellation_leaves_the_batch_pending_for_recovery_instead_of_failing_it()
    {
        var (pool, batch) = await StageAsync();
        var logs = new CollectedLogs();
        using var loggers = LoggerFactory.Create(logging => logging.AddProvider(logs));
        // HttpClient-style timeouts surface as TaskCanceledException though nobody cancelled the batch: that is a
        // dependency failing, so its bets are answered pending (retry with the same key) and recovery decides them.
        var pools = new PoolsFailingWith(new TaskCanceledException("Pools did not answer in time (test)."));
        IReadOnlyList<PlacementResult> told = [];
        await Pipeline(loggers, pools).RunAsync(pool.Id, batch, answers => told = answers, CancellationToken.None);

        Assert.Equal(batch.Length, told.Count);
        Assert.All(told, answer => Assert.Equal(BetStatus.Pending, answer.Bet?.Status));
        var log = Assert.Single(logs.Records, r => r.EventName == "BatchStepFailed");
        Assert.Equal("move stakes or finalize", log["Step"]);
        Assert.DoesNotContain(logs.Records, r => r.EventName == "BatchFailed");
        Assert.Equal(0, await stack.BalanceAsync(pool.Escrow)); // nothing moved before the pool's answer

        await Recovery.RecoverAsync(TimeSpan.Zero, default);
        Assert.Equal(batch.Length, await stack.BetsOfPoolAsync(pool.Id, "accepted"));
        Assert.Equal(batch.Sum(b => b.Command.StakeMinor), await stack.BalanceAsync(pool.Escrow));
        await stack.AssertLedgerExactAsync();
    }

    private async Task<(TestPool Pool, AdmittedBet[] Batch)> StageAsync()
    {
        var pool = await stack.NewPoolAsync();
        var players = await stack.NewPlayersAsync(3, Funds);
        return (pool, [.. players.Select((p, i) => stack.Admit(p, pool, pool.Outcomes[i % 2], 400 + 100 * i))]);
    }

    private async Task RunWithLostLedgerAnswerAsync(BetBatchPipeline pipeline, TestPool pool, AdmittedBet[] batch, Action<IReadOnlyList<PlacementResult>> answer)
    {
        using var hold = stack.StakeHold.Arm(pool.Id);
        try
        {
            var running = pipeline.RunAsync(pool.Id, batch, answer, default);
            await hold.Reached.WaitAsync(TimeSpan.FromSeconds(30));
            hold.LoseAnswer();
            await running.WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            hold.Release();
        }
    }

    /// <summary>The stack's pipeline, logging to <paramref name="loggers"/> and asking <paramref name="pools"/>.</summary>
    private BetBatchPipeline Pipeline(ILoggerFactory loggers, IPoolDirectory pools)
    {
        var services = stack.BetEngine;
        return new BetBatchPipeline(services.GetRequiredService<BetStore>(), services.GetRequiredService<StakeLedger>(),
            services.GetRequiredService<BatchFinalizer>(), services.GetRequiredService<OddsPublisher>(), pools, stack.Clock,
            loggers.CreateLogger<BetBatchPipeline>());
    }

    private static Activity BatchSpanOf(RecordedActivities spans, TestPool pool) =>
        Assert.Single(spans.Stopped, a => a.OperationName == "bet batch" && Equals(a.GetTagItem("streambets.pool_id"), pool.Id));

    private static object? ExceptionTypeIn(Activity span) =>
        Assert.Single(span.Events, e => e.Name == "exception").Tags.FirstOrDefault(t => t.Key == "exception.type").Value;

    /// <summary>Pools' fresh read fails with <paramref name="failure"/>.</summary>
    private sealed class PoolsFailingWith(Exception failure) : IPoolDirectory
    {
        public Task<PoolSnapshot?> GetFreshAsync(Guid poolId, CancellationToken cancellationToken, TimeSpan? within = null) =>
            Task.FromException<PoolSnapshot?>(failure);

        public Task<PoolSnapshot?> GetAsync(Guid poolId, CancellationToken cancellationToken) => throw new NotSupportedException();

        public void MarkClosed(Guid poolId, PoolState state) => throw new NotSupportedException();

        public void Invalidate(Guid poolId) => throw new NotSupportedException();
    }

    /// <summary>The measurements of one Bet Engine instrument made while this is alive, with their tags.</summary>
    internal sealed class RecordedMeasurements : IDisposable
    {
        private readonly List<(long Value, Dictionary<string, object?> Tags)> _measurements = [];
        private readonly MeterListener _listener;

        public RecordedMeasurements(string instrument)
        {
            _listener = new MeterListener
            {
                InstrumentPublished = (published, listener) =>
                {
                    if (published.Meter.Name == "StreamBets.BetEngine" && published.Name == instrument)
                    {
                        listener.EnableMeasurementEvents(published);
                    }
                },
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                var copied = new Dictionary<string, object?>();
                foreach (var tag in tags)
                {
                    copied[tag.Key] = tag.Value;
                }
                lock (_measurements)
                {
                    _measurements.Add((value, copied));
                }
            });
            _listener.Start();
        }

        public IReadOnlyList<(long Value, Dictionary<string, object?> Tags)> Measurements
        {
            get
            {
                lock (_measurements)
                {
                    return [.. _measurements];
                }
            }
        }

        /// <summary>Reads an observable instrument now: its one value.</summary>
        public long Observe()
        {
            var before = Measurements.Count;
            _listener.RecordObservableInstruments();
            return Assert.Single(Measurements.Skip(before)).Value;
        }

        public void Dispose() => _listener.Dispose();
    }
}
