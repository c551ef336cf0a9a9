using Microsoft.Extensions.Logging;
using StreamBets.Messaging.Consuming;
using StreamBets.Messaging.Transports;
using StreamBets.Testing;

namespace StreamBets.Messaging.Tests;

/// <summary>
/// What the consumer lag tells the on-call while the broker cannot be read: a failed reading keeps the last lag, so its
/// sample age must show how old that lag is.
/// </summary>
public sealed class ConsumerLagMonitorTests
{
    private const string Lag = "streambets.messaging.consumer.lag";
    private const string SampleAge = "streambets.messaging.consumer.lag_sample_age";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task While_the_lag_cannot_be_read_its_sample_age_grows_and_the_next_reading_resets_it()
    {
        var broker = new ScriptedLagSource();
        await using var run = await MonitorRun.StartAsync(broker);
        broker.Answer(5);
        await Eventually.TrueAsync(() => Task.FromResult(run.LagNow() == 5), Patience, "the lag gauge reports the broker's reading");
        Assert.InRange(run.AgeNow() ?? double.NaN, 0, 1);

        // The broker cannot be reached, while the consumers restart (event 3005), for ten minutes.
        broker.Fail();
        await run.FailuresAsync(3);
        run.Clock.Advance(TimeSpan.FromMinutes(10));
        await run.FailuresAsync(3);

        Assert.Equal(5, run.LagNow()); // the last reading stands...
        Assert.InRange(run.AgeNow() ?? double.NaN, 600, 700); // ...and shows its age
        Assert.Contains(run.Logs.Records, e => e.EventId.Id == 3105);

        broker.Answer(0);
        await Eventually.TrueAsync(() => Task.FromResult(run.LagNow() == 0 && run.AgeNow() < 1), Patience,
            "a reading that succeeds brings the sample age back to about 0");
    }

    [Fact]
    public async Task A_lag_never_read_since_the_start_shows_as_a_growing_sample_age_and_no_lag()
    {
        var broker = new ScriptedLagSource();
        broker.Fail();
        await using var run = await MonitorRun.StartAsync(broker);

        await run.FailuresAsync(3);
        run.Clock.Advance(TimeSpan.FromMinutes(10));
        await run.FailuresAsync(3);

        Assert.Null(run.LagNow());
        Assert.InRange(run.AgeNow() ?? double.NaN, 600, 700);

        broker.Answer(2);
        await Eventually.TrueAsync(() => Task.FromResult(run.LagNow() == 2 && run.AgeNow() < 1), Patience,
            "the first reading that succeeds reports the lag and a fresh sample");
    }

    /// <summary>A monitor of its own consumer group (so other tests' series stay apart), sampling every 20 ms of real time.</summary>
    private sealed class MonitorRun : IAsyncDisposable
    {
        private readonly MessagingMetrics _metrics = new(Lag, SampleAge);
        private readonly ILoggerFactory _loggers;
        private readonly ScriptedLagSource _broker;
        private readonly ConsumerLagMonitor _monitor;
        private readonly (string, object)[] _series;

        private MonitorRun(ScriptedLagSource broker)
        {
            _broker = broker;
            _loggers = LoggerFactory.Create(logging => logging.AddProvider(Logs));
            var subscriptions = new SubscriptionCatalog();
            subscriptions.Add<Counted, RecordingHandler>();
            var group = $"lagage{Guid.NewGuid():N}"[..16];
            _series = [(MessagingTelemetry.ConsumerGroupTag, group), (MessagingTelemetry.TopicTag, subscriptions.Topics.Single())];
            _monitor = new ConsumerLagMonitor(subscriptions, broker, new EventBusIdentity(group),
                new EventBusOptions { ConsumerLagSampleInterval = TimeSpan.FromMilliseconds(20) }, Clock,
                _loggers.CreateLogger<ConsumerLagMonitor>());
        }

        /// <summary>Real timers, and a "now" the test moves forward.</summary>
        public AdjustableClock Clock { get; } = new();

        public CollectedLogs Logs { get; } = new();

        public static async Task<MonitorRun> StartAsync(ScriptedLagSource broker)
        {
            var run = new MonitorRun(broker);
            await run._monitor.StartAsync(CancellationToken.None);
            return run;
        }

        public double? LagNow() => _metrics.Gauge(Lag, _series);

        public double? AgeNow() => _metrics.Gauge(SampleAge, _series);

        /// <summary>Waits until the monitor has failed that many more readings.</summary>
        public Task FailuresAsync(int more)
        {
            var target = _broker.Failures + more;
            return Eventually.TrueAsync(() => Task.FromResult(_broker.Failures >= target), Patience, $"{more} more readings fail");
        }

        public async ValueTask DisposeAsync()
        {
            await _monitor.StopAsync(CancellationToken.None);
            _monitor.Dispose();
            _loggers.Dispose();
            _metrics.Dispose();
        }
    }

    /// <summary>A broker whose lag reading the test sets, or makes fail as when the broker cannot be reached.</summary>
    private sealed class ScriptedLagSource : IConsumerLagSource
    {
        private const long Unreachable = -1;
        private long _lag = Unreachable;
        private int _failures;

        public int Failures => Volatile.Read(ref _failures);

        public void Answer(long lag) => Volatile.Write(ref _lag, lag);

        public void Fail() => Volatile.Write(ref _lag, Unreachable);

        public Task<IReadOnlyDictionary<string, long>> SampleAsync(IReadOnlyCollection<string> topics, CancellationToken cancellationToken)
        {
            var lag = Volatile.Read(ref _lag);
            if (lag == Unreachable)
            {
                Interlocked.Increment(ref _failures);
                throw new InvalidOperationException("It was not possible to connect to the redis server(s).");
            }
            return Task.FromResult<IReadOnlyDictionary<string, long>>(topics.ToDictionary(topic => topic, _ => lag));
        }
    }
}
