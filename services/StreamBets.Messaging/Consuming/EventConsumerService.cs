using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StreamBets.Messaging.Transports;

namespace StreamBets.Messaging.Consuming;

/// <summary>Runs the transport's consumer for the service's subscriptions (idle when it has none), restarting it after a failure.</summary>
internal sealed partial class EventConsumerService(
    SubscriptionCatalog subscriptions,
    IEventConsumer consumer,
    EventDispatcher dispatcher,
    EventBusOptions options,
    TimeProvider time,
    ILogger<EventConsumerService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var failures = 0;
        while (!subscriptions.IsEmpty && !stoppingToken.IsCancellationRequested)
        {
            try
            {
                await consumer.RunAsync(subscriptions.Topics, dispatcher, stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // Unacknowledged messages are redelivered to whoever consumes next; the inbox absorbs repeats.
                failures++;
                LogConsumerFailed(e);
                await Task.Delay(Backoff.Delay(failures, options.RetryInitialDelay, options.RetryMaxDelay), time, stoppingToken)
                    .ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    [LoggerMessage(EventId = 3005, EventName = "EventConsumerRestarting", Level = LogLevel.Error, Message = "The event consumer stopped with an error; restarting it")]
    private partial void LogConsumerFailed(Exception exception);
}
