using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging.Envelope;

namespace StreamBets.Messaging.Consuming;

/// <summary>The service's subscriptions: which event types it handles, on which topics, with which handlers.</summary>
internal sealed class SubscriptionCatalog
{
    private readonly Dictionary<string, Subscription> _byType = new(StringComparer.Ordinal);

    public IReadOnlyCollection<string> Topics => _byType.Values.Select(s => s.Topic).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();

    public bool IsEmpty => _byType.Count == 0;

    public void Add<TEvent, THandler>()
        where TEvent : IIntegrationEvent
        where THandler : class, IIntegrationEventHandler<TEvent>
    {
        var metadata = IntegrationEventMetadata.Of<TEvent>();
        if (!_byType.TryGetValue(metadata.Type, out var subscription))
        {
            subscription = new Subscription(metadata.Type, metadata.Topic, typeof(TEvent));
            _byType.Add(metadata.Type, subscription);
        }
        subscription.Handlers.Add((services, @event, context, ct) =>
            services.GetRequiredService<THandler>().HandleAsync((TEvent)@event, context, ct));
    }

    public Subscription? Find(string eventType) => _byType.GetValueOrDefault(eventType);

    internal sealed record Subscription(string Type, string Topic, Type EventType)
    {
        public List<Func<IServiceProvider, IIntegrationEvent, IntegrationEventContext, CancellationToken, Task>> Handlers { get; } = [];

        /// <exception cref="JsonException">The data does not match the event record.</exception>
        public IIntegrationEvent Deserialize(ReadOnlyMemory<byte> data) =>
            (IIntegrationEvent)(JsonSerializer.Deserialize(data.Span, EventType, CloudEventEnvelope.SerializerOptions)
                ?? throw new JsonException($"The data of {Type} is null."));
    }
}
