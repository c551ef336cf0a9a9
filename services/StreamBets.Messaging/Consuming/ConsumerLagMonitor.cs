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
internal sealed partial class ConsumerLagMonitor(
    SubscriptionCatalog subscriptions,
    IConsumerLagSource source,
    EventBusIdentity identity,
    EventBusOptions options,
    TimeProvider time,
    ILogger<ConsumerLagMonitor> logger) : BackgroundService
{
    private readonly string _consumerGroup = identity.ConsumerGroup;
    private volatile IReadOnlyDictionary<string, long> _lag = new Dictionary<string, long>();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (subscriptions.IsEmpty)
        {
            return;
        }
        Running.TryAdd(this, 0);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    _lag = await source.SampleAsync(subscriptions.Topics, stoppingToken);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e)
                {
                    // The last sample stands until the broker answers again.
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

    [LoggerMessage(EventId = 3105, EventName = "ConsumerLagUnread", Level = LogLevel.Warning, Message = "Could not measure the consumer group's lag: {Error}; the metric keeps the last sample")]
    private partial void LogSampleFailed(string error);
}
