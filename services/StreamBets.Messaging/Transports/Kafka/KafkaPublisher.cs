using Confluent.Kafka;

namespace StreamBets.Messaging.Transports.Kafka;

/// <summary>
/// Publishes with an idempotent producer (acks=all, enable.idempotence): the broker keeps a partition's messages in send
/// order without duplicates from producer retries, and the key (aggregate id) picks the partition. librdkafka batches
/// the messages of a relay round (linger.ms) into few requests.
/// </summary>
internal sealed class KafkaPublisher : IEventPublisher, IDisposable
{
    private readonly IProducer<string, byte[]> _producer;
    private readonly KafkaTopics _topics;

    public KafkaPublisher(string bootstrapServers, KafkaOptions options, KafkaTopics topics)
    {
        _topics = topics;
        _producer = new ProducerBuilder<string, byte[]>(ProducerConfig(bootstrapServers, options)).Build();
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
        try
        {
            await _topics.EnsureAsync(messages.Select(m => _topics.Name(m.Topic)));
        }
        catch (KafkaException e)
        {
            Array.Fill(results, e);
            return results;
        }

        // Produce all first (in order, so the producer queues them in order), then await the acknowledgements.
        var deliveries = new Task[messages.Count];
        for (var i = 0; i < messages.Count; i++)
        {
            var message = messages[i];
            deliveries[i] = _producer.ProduceAsync(_topics.Name(message.Topic), ToKafka(message), cancellationToken);
        }
        for (var i = 0; i < deliveries.Length; i++)
        {
            try
            {
                await deliveries[i];
            }
            catch (Exception e) when (e is KafkaException or OperationCanceledException)
            {
                results[i] = e;
            }
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
