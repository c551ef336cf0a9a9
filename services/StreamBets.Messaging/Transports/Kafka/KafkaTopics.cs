using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace StreamBets.Messaging.Transports.Kafka;

/// <summary>Creates the bus's topics when missing (brokers in production often disable auto-creation).</summary>
internal sealed class KafkaTopics(KafkaOptions options, Func<IAdminClient> createAdminClient)
{
    private static readonly IReadOnlyDictionary<string, KafkaException> NoFailures = new Dictionary<string, KafkaException>();

    private readonly HashSet<string> _known = [];
    private readonly SemaphoreSlim _lock = new(1, 1);

    public KafkaTopics(string bootstrapServers, KafkaOptions options)
        : this(options, () => new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrapServers }).Build())
    {
    }

    public string Name(string topic) => options.TopicPrefix + topic;

    public string DeadLetter(string consumerGroup) => $"{options.TopicPrefix}deadletter.{consumerGroup}";

    /// <summary>Makes sure the topics exist; throws the first topic's error when one cannot be created.</summary>
    public async Task EnsureAsync(IEnumerable<string> topicNames)
    {
        var failures = await TryEnsureAsync(topicNames);
        if (failures.Count > 0)
        {
            throw failures.Values.First();
        }
    }

    /// <summary>Makes sure the topics exist.</summary>
    /// <returns>The topics that neither exist nor could be created, each with the broker's error.</returns>
    /// <exception cref="KafkaException">The cluster did not answer.</exception>
    public async Task<IReadOnlyDictionary<string, KafkaException>> TryEnsureAsync(IEnumerable<string> topicNames)
    {
        await _lock.WaitAsync();
        try
        {
            var unknown = topicNames.Where(t => !_known.Contains(t)).ToHashSet();
            if (unknown.Count == 0)
            {
                return NoFailures;
            }
            using var admin = createAdminClient();
            // Existing topics first: a principal without the CREATE permission is answered TOPIC_AUTHORIZATION_FAILED
            // for every topic it asks to create, existing ones included, though it may write to them.
            var metadata = admin.GetMetadata(TimeSpan.FromMilliseconds(options.MessageTimeoutMs));
            _known.UnionWith(metadata.Topics.Where(t => t.Error.Code == ErrorCode.NoError && unknown.Contains(t.Topic)).Select(t => t.Topic));
            var missing = unknown.Where(t => !_known.Contains(t)).ToArray();
            if (missing.Length == 0)
            {
                return NoFailures;
            }
            try
            {
                await admin.CreateTopicsAsync(missing.Select(t => new TopicSpecification
                {
                    Name = t,
                    NumPartitions = options.Partitions,
                    ReplicationFactor = options.ReplicationFactor,
                }), new CreateTopicsOptions { RequestTimeout = TimeSpan.FromMilliseconds(options.MessageTimeoutMs) });
                _known.UnionWith(missing);
                return NoFailures;
            }
            catch (CreateTopicsException e)
            {
                // Each topic on its own: one that may not be created fails only its own events.
                var failures = new Dictionary<string, KafkaException>();
                foreach (var report in e.Results)
                {
                    if (report.Error.Code is ErrorCode.NoError or ErrorCode.TopicAlreadyExists) // another replica or an operator made it
                    {
                        _known.Add(report.Topic);
                    }
                    else
                    {
                        failures[report.Topic] = new KafkaException(report.Error);
                    }
                }
                return failures;
            }
        }
        finally
        {
            _lock.Release();
        }
    }
}
