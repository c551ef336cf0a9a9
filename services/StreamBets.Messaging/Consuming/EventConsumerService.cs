using Microsoft.Extensions.Hosting;
using StreamBets.Messaging.Transports;

namespace StreamBets.Messaging.Consuming;

/// <summary>Runs the transport's consumer for the service's subscriptions; idle when it has none.</summary>
internal sealed class EventConsumerService(SubscriptionCatalog subscriptions, IEventConsumer consumer, EventDispatcher dispatcher) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        subscriptions.IsEmpty ? Task.CompletedTask : consumer.RunAsync(subscriptions.Topics, dispatcher, stoppingToken);
}
