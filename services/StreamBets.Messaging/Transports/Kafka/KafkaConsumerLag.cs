using Confluent.Kafka;

namespace StreamBets.Messaging.Transports.Kafka;

/// <summary>
/// The group's lag on each topic: per partition, the high watermark minus the group's committed offset (the low
/// watermark where it never committed, as <c>auto.offset.reset=earliest</c> starts there).
/// </summary>
/// <remarks>
/// Reads with a client of its own that never subscribes, so it never joins the group (no rebalance) and answers while
/// the consuming thread is stuck in a handler. Not covered by a test on machines without a Kafka broker.
/// </remarks>
internal sealed class KafkaConsumerLag : IConsumerLagSource, IDisposable
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(5);

    private readonly KafkaTopics _topics;
    private readonly Lazy<IAdminClient> _admin;
    private readonly Lazy<IConsumer<Ignore, Ignore>> _offsets;

    public KafkaConsumerLag(string bootstrapServers, KafkaTopics topics, EventBusIdentity identity)
    {
        _topics = topics;
        // A metadata request for a missing topic must not create it: librdkafka's producer-based admin client allows that by
        // default, and the broker would make it with its own partition count before KafkaTopics creates it with ours.
        _admin = new(() => new AdminClientBuilder(new AdminClientConfig(new Dictionary<string, string> { ["allow.auto.create.topics"] = "false" })
        {
            BootstrapServers = bootstrapServers,
        }).Build());
        _offsets = new(() => new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = identity.ConsumerGroup,
            ClientId = $"{identity.InstanceName}-lag",
            EnableAutoCommit = false,
        }).Build());
    }

    // The client calls block: off the caller's thread.
    public Task<IReadOnlyDictionary<string, long>> SampleAsync(IReadOnlyCollection<string> topics, CancellationToken cancellationToken) =>
        Task.Run(() => Sample(topics), cancellationToken);

    private IReadOnlyDictionary<string, long> Sample(IReadOnlyCollection<string> topics)
    {
        var lag = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var topic in topics)
        {
            var name = _topics.Name(topic);
            var metadata = _admin.Value.GetMetadata(name, RequestTimeout).Topics.FirstOrDefault(t => t.Topic == name);
            if (metadata is null || metadata.Error.Code == ErrorCode.UnknownTopicOrPart)
            {
                lag[topic] = 0; // Not created yet: the consumer creates it before it subscribes.
                continue;
            }
            if (metadata.Error.IsError)
            {
                throw new KafkaException(metadata.Error);
            }
            var partitions = metadata.Partitions.Select(p => new TopicPartition(name, p.PartitionId)).ToArray();
            var committed = _offsets.Value.Committed(partitions, RequestTimeout).ToDictionary(c => c.Partition, c => c.Offset);
            long total = 0;
            foreach (var partition in partitions)
            {
                var marks = _offsets.Value.QueryWatermarkOffsets(partition, RequestTimeout);
                var applied = committed.TryGetValue(partition.Partition, out var offset) && offset.Value >= 0 ? offset.Value : marks.Low.Value;
                total += Math.Max(0, marks.High.Value - applied);
            }
            lag[topic] = total;
        }
        return lag;
    }

    public void Dispose()
    {
        if (_offsets.IsValueCreated)
        {
            _offsets.Value.Dispose();
        }
        if (_admin.IsValueCreated)
        {
            _admin.Value.Dispose();
        }
    }
}
