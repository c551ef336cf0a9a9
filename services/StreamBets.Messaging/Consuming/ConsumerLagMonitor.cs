using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StreamBets.Messaging.Transports;

namespace StreamBets.Messaging.Consuming;

/// <summary>
/// Reports the consumer group's lag per subscribed topic (<c>streambets.messaging.consumer.lag</c>), sampled from the
/// broker every <see cref="EventBusOptions.ConsumerLagSampleInterval"/> on a loop of its own: a handler that hangs, or
/// a consumer that restarts for ever, stops applying events but not this.
/// </summary>
/// <remarks>
/// A failed reading keeps the last sample, so the lag alone cannot tell "caught up" from "not read for an hour":
/// <c>streambets.messaging.consumer.lag_sample_age</c> reports, per subscribed topic, the time since the last reading
/// that succeeded (since the monitor started, before the first).
/// </remarks>
internal sealed partial class ConsumerLagMonitor(
    SubscriptionCatalog subscriptions,
    IConsumerLagSource source,
    EventBusIdentity identity,
    EventBusOptions options,
    TimeProvider time,
    ILogger<ConsumerLagMonitor> logger) : BackgroundService
{
    private readonly string _consumerGroup = identity.ConsumerGroup;
    private readonly IReadOnlyCollection<string> _topics = subscriptions.Topics;
    private volatile IReadOnlyDictionary<string, long> _lag = new Dictionary<string, long>();
    private long _lastSampledAtTicks;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (subscriptions.IsEmpty)
        {
            return;
        }
        Volatile.Write(ref _lastSampledAtTicks, time.GetUtcNow().UtcTicks);
        Running.TryAdd(this, 0);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    var lag = await source.SampleAsync(_topics, stoppingToken);
                    Volatile.Write(ref _lastSampledAtTicks, time.GetUtcNow().UtcTicks);
                    _lag = lag;
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e)
                {
                    // The last sample stands until the broker answers again; its age tells how stale it is.
                    LogSampleFailed(e.Message);
                }
                await Task.Delay(options.ConsumerLagSampleInterval, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
        finally
        {
            Running.TryRemove(this, out _);
        }
    }

    // Every replica of a service reports its group's whole lag, read from the broker: aggregate with max, never sum.
    private static readonly ConcurrentDictionary<ConsumerLagMonitor, byte> Running = new();

    private static readonly ObservableGauge<long> LagGauge = MessagingTelemetry.Meter.CreateObservableGauge(
        "streambets.messaging.consumer.lag",
        () => Running.Keys.SelectMany(m => m._lag.Select(topic => new Measurement<long>(
            topic.Value,
            new KeyValuePair<string, object?>(MessagingTelemetry.ConsumerGroupTag, m._consumerGroup),
            new KeyValuePair<string, object?>(MessagingTelemetry.TopicTag, topic.Key)))),
        "{event}", "Events on a subscribed topic the consumer group has not applied yet (undelivered, or delivered and unacknowledged).");

    // Per subscribed topic, beside the lag's series, and reported before the first reading succeeds too (the lag is not).
    private static readonly ObservableGauge<double> SampleAgeGauge = MessagingTelemetry.Meter.CreateObservableGauge(
        "streambets.messaging.consumer.lag_sample_age",
        () => Running.Keys.SelectMany(m =>
        {
            var age = m.SampleAgeSeconds;
            return m._topics.Select(topic => new Measurement<double>(
                age,
                new KeyValuePair<string, object?>(MessagingTelemetry.ConsumerGroupTag, m._consumerGroup),
                new KeyValuePair<string, object?>(MessagingTelemetry.TopicTag, topic)));
        }),
        "s", "Time since this replica last read the consumer group's lag from the broker: the lag it reports is that old.");

    private double SampleAgeSeconds =>
        Math.Max(0, (time.GetUtcNow().UtcTicks - Volatile.Read(ref _lastSampledAtTicks)) / (double)TimeSpan.TicksPerSecond);

    [LoggerMessage(EventId = 3105, EventName = "ConsumerLagUnread", Level = LogLevel.Warning, Message = "Could not measure the consumer group's lag: {Error}; the metric keeps the last sample, and its sample age grows")]
    private partial void LogSampleFailed(string error);
}
