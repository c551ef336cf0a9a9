using Confluent.Kafka;

namespace StreamBets.Messaging.Transports.Kafka;

/// <summary>
/// Publishes with an idempotent producer (acks=all, enable.idempotence): the broker keeps a partition's messages in send
/// order without duplicates from producer retries, and the key (aggregate id) picks the partition. librdkafka batches
/// the messages of a relay round (linger.ms) into few requests.
/// </summary>
internal sealed class KafkaPublisher : IEventPublisher, IDisposable
{
    private readonly Func<IProducer<string, byte[]>> _createProducer;
    private readonly KafkaTopics _topics;
    private IProducer<string, byte[]> _producer;

    public KafkaPublisher(string bootstrapServers, KafkaOptions options, KafkaTopics topics)
        : this(() => new ProducerBuilder<string, byte[]>(ProducerConfig(bootstrapServers, options)).Build(), topics)
    {
    }

    internal KafkaPublisher(Func<IProducer<string, byte[]>> createProducer, KafkaTopics topics)
    {
        _createProducer = createProducer;
        _topics = topics;
        _producer = createProducer();
    }

    public static ProducerConfig ProducerConfig(string bootstrapServers, KafkaOptions options) => new()
    {
        BootstrapServers = bootstrapServers,
        EnableIdempotence = true,
        Acks = Acks.All,
        MaxInFlight = 5, // The most idempotence allows while still keeping order.
        LingerMs = options.LingerMs,
        MessageTimeoutMs = options.MessageTimeoutMs,
        CompressionType = CompressionType.Lz4,
    };

    public async Task<Exception?[]> PublishAsync(IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken)
    {
        var results = new Exception?[messages.Count];
        IReadOnlyDictionary<string, KafkaException> missingTopics;
        try
        {
            missingTopics = await _topics.TryEnsureAsync(messages.Select(m => _topics.Name(m.Topic)));
        }
        catch (KafkaException e)
        {
            Array.Fill(results, e);
            return results;
        }

        // Produce all first (in order, so the producer queues them in order), then await the acknowledgements. A topic
        // that cannot be created fails its own events only (all of them, so per key failures stay a suffix).
        var deliveries = new Task?[messages.Count];
        for (var i = 0; i < messages.Count; i++)
        {
            var topic = _topics.Name(messages[i].Topic);
            if (missingTopics.TryGetValue(topic, out var missing))
            {
                results[i] = missing;
                continue;
            }
            deliveries[i] = _producer.ProduceAsync(topic, ToKafka(messages[i]), cancellationToken);
        }
        for (var i = 0; i < deliveries.Length; i++)
        {
            try
            {
                await (deliveries[i] ?? Task.CompletedTask);
            }
            catch (Exception e) when (e is KafkaException or OperationCanceledException)
            {
                results[i] = e;
            }
        }

        // A fatal error (idempotence or epoch lost) leaves the producer failing every later message: build a new one,
        // so the rows, still in the outbox, go out on the next round.
        if (results.Any(r => r is KafkaException { Error.IsFatal: true }))
        {
            var failed = _producer;
            _producer = _createProducer();
            failed.Dispose();
        }
        return results;
    }

    public static Message<string, byte[]> ToKafka(OutgoingMessage message) => new()
    {
        Key = message.Key,
        Value = message.Body.ToArray(),
        Headers = new Headers
        {
            { "content-type", "application/cloudevents+json; charset=utf-8"u8.ToArray() },
            { "ce_type", System.Text.Encoding.UTF8.GetBytes(message.EventType) },
        },
    };

    public void Dispose()
    {
        _producer.Flush(TimeSpan.FromSeconds(5));
        _producer.Dispose();
    }
}
