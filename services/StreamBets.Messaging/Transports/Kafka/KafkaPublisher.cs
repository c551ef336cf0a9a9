using Confluent.Kafka;

namespace StreamBets.Messaging.Transports.Kafka;

/// <summary>
/// Publishes with an idempotent producer (acks=all, enable.idempotence): the broker keeps a partition's messages in send
/// order without duplicates from producer retries, and the key (aggregate id) picks the partition. librdkafka batches
/// the messages of a relay round (linger.ms) into few requests.
/// </summary>
internal sealed class KafkaPublisher : IEventPublisher, IDisposable
{
    private readonly ReplaceableProducer _producer;
    private readonly KafkaTopics _topics;

    public KafkaPublisher(string bootstrapServers, KafkaOptions options, KafkaTopics topics)
        : this(() => new ProducerBuilder<string, byte[]>(ProducerConfig(bootstrapServers, options)).Build(), topics)
    {
    }

    internal KafkaPublisher(Func<IProducer<string, byte[]>> createProducer, KafkaTopics topics)
    {
        _producer = new ReplaceableProducer(createProducer);
        _topics = topics;
    }

    public static ProducerConfig ProducerConfig(string bootstrapServers, KafkaOptions options) => new()
    {
        BootstrapServers = bootstrapServers,
        EnableIdempotence = true,
        // Not enable.gapless.guarantee: it makes any batch the broker refuses for good (one topic's ACL or size limit) a
        // fatal error that fails every key in flight and rebuilds the producer each retry, where one key should wait alone.
        // The refusals that never heal are caught before queueing instead (message.max.bytes, below the topics' limit).
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
        var refusedKeys = new Dictionary<(string Topic, string Key), Task>();
        for (var i = 0; i < messages.Count; i++)
        {
            var topic = _topics.Name(messages[i].Topic);
            if (missingTopics.TryGetValue(topic, out var missing))
            {
                results[i] = missing;
                continue;
            }
            var key = (topic, messages[i].Key);
            if (refusedKeys.TryGetValue(key, out var refused))
            {
                // Not produced: it would reach the topic before the refused message it follows.
                deliveries[i] = refused;
                continue;
            }
            var delivery = _producer.Current.ProduceAsync(topic, ToKafka(messages[i]), cancellationToken);
            // librdkafka refuses some messages before queueing them (too large, queue full): the task has failed already,
            // while the key's later messages would still be queued, sent and acknowledged ahead of it.
            if (delivery.IsCompleted && !delivery.IsCompletedSuccessfully)
            {
                refusedKeys[key] = delivery;
            }
            deliveries[i] = delivery;
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

        // The rows, still in the outbox, go out on the next round, on a new producer if this one is broken for good.
        _producer.ReplaceIfFatal(results.FirstOrDefault(r => r is KafkaException { Error.IsFatal: true }));
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

    public void Dispose() => _producer.Dispose();
}
