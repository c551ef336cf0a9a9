using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace StreamBets.Messaging.Transports.Kafka;

/// <summary>Creates the bus's topics when missing (brokers in production often disable auto-creation).</summary>
internal sealed class KafkaTopics(string bootstrapServers, KafkaOptions options)
{
    private readonly HashSet<string> _known = [];
    private readonly SemaphoreSlim _lock = new(1, 1);

    public string Name(string topic) => options.TopicPrefix + topic;

    public string DeadLetter(string consumerGroup) => $"{options.TopicPrefix}deadletter.{consumerGroup}";

    public async Task EnsureAsync(IEnumerable<string> topicNames)
    {
        await _lock.WaitAsync();
        try
        {
            var missing = topicNames.Where(t => !_known.Contains(t)).Distinct().ToArray();
            if (missing.Length == 0)
            {
                return;
            }
            using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrapServers }).Build();
            try
            {
                await admin.CreateTopicsAsync(missing.Select(t => new TopicSpecification
                {
                    Name = t,
                    NumPartitions = options.Partitions,
                    ReplicationFactor = options.ReplicationFactor,
                }), new CreateTopicsOptions { RequestTimeout = TimeSpan.FromMilliseconds(options.MessageTimeoutMs) });
            }
            catch (CreateTopicsException e) when (e.Results.All(r => r.Error.Code is ErrorCode.NoError or ErrorCode.TopicAlreadyExists))
            {
                // Another replica or an operator created them.
            }
            _known.UnionWith(missing);
        }
        finally
        {
            _lock.Release();
        }
    }
}
