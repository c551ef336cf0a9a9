using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace StreamBets.Messaging.Transports.Kafka;

/// <summary>
/// Consumes the subscribed topics in the service's consumer group. Offsets are committed by hand, only after the
/// dispatcher applied (or dead-lettered) every message up to them; Kafka's partition assignment keeps one consumer
/// per partition, so per-key order holds across replicas.
/// </summary>
internal sealed partial class KafkaConsumer(
    KafkaOptions options,
    KafkaTopics topics,
    EventBusIdentity identity,
    ILogger<KafkaConsumer> logger,
    Func<IConsumer<string, byte[]>> createConsumer,
    Func<IProducer<string, byte[]>> createDeadLetterProducer) : IEventConsumer
{
    public KafkaConsumer(string bootstrapServers, KafkaOptions options, KafkaTopics topics, EventBusIdentity identity, ILogger<KafkaConsumer> logger)
        : this(options, topics, identity, logger,
            () => new ConsumerBuilder<string, byte[]>(ConsumerConfig(bootstrapServers, options, identity)).Build(),
            () => new ProducerBuilder<string, byte[]>(KafkaPublisher.ProducerConfig(bootstrapServers, options)).Build())
    {
    }

    private static ConsumerConfig ConsumerConfig(string bootstrapServers, KafkaOptions options, EventBusIdentity identity) => new()
    {
        BootstrapServers = bootstrapServers,
        GroupId = identity.ConsumerGroup,
        ClientId = identity.InstanceName,
        EnableAutoCommit = false,
        EnableAutoOffsetStore = false,
        AutoOffsetReset = AutoOffsetReset.Earliest,
        SessionTimeoutMs = options.SessionTimeoutMs,
        MaxPollIntervalMs = options.MaxPollIntervalMs,
        PartitionAssignmentStrategy = PartitionAssignmentStrategy.CooperativeSticky,
    };

    public async Task RunAsync(IReadOnlyCollection<string> topicNames, IDeliveryProcessor processor, CancellationToken cancellationToken)
    {
        var subscribed = topicNames.Select(topics.Name).ToArray();
        await topics.EnsureAsync([.. subscribed, topics.DeadLetter(identity.ConsumerGroup)]);
        // Consume() blocks, so the loop gets a thread of its own.
        await Task.Factory.StartNew(
            () => ConsumeLoop(subscribed, processor, cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    private void ConsumeLoop(string[] subscribed, IDeliveryProcessor processor, CancellationToken cancellationToken)
    {
        using var consumer = createConsumer();
        using var deadLetters = new ReplaceableProducer(createDeadLetterProducer);
        consumer.Subscribe(subscribed);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                List<ConsumeResult<string, byte[]>>? batch = null;
                try
                {
                    batch = [consumer.Consume(cancellationToken)];
                    while (batch.Count < options.ConsumeBatchSize && consumer.Consume(TimeSpan.Zero) is { } more)
                    {
                        batch.Add(more);
                    }
                    var messages = batch.Where(r => !r.IsPartitionEOF && r.Message is not null && IsFor(identity.ConsumerGroup, r.Message)).ToList();
                    var outcomes = processor.ProcessAsync(messages.Select(r => (ReadOnlyMemory<byte>)r.Message.Value).ToArray(), cancellationToken)
                        .GetAwaiter().GetResult();
                    for (var i = 0; i < outcomes.Length; i++)
                    {
                        if (outcomes[i].DeadLetterReason is { } reason)
                        {
                            try
                            {
                                deadLetters.Current.ProduceAsync(topics.DeadLetter(identity.ConsumerGroup), DeadLetter(messages[i], reason), cancellationToken)
                                    .GetAwaiter().GetResult();
                            }
                            catch (KafkaException e)
                            {
                                // A broken producer would fail this dead letter on every retry of the batch, forever.
                                deadLetters.ReplaceIfFatal(e);
                                throw;
                            }
                        }
                    }
                    // Commit the next offset of each partition, after everything before it was applied.
                    consumer.Commit(batch
                        .GroupBy(r => r.TopicPartition)
                        .Select(g => new TopicPartitionOffset(g.Key, g.Max(r => r.Offset.Value) + 1)));
                }
                catch (KafkaException e)
                {
                    // Consuming, dead-lettering or committing failed: rewind to the batch's start so no later commit
                    // skips it. Messages already applied come back and the inbox absorbs them.
                    LogKafkaError(e.Error.Reason);
                    foreach (var start in batch?.GroupBy(r => r.TopicPartition).Select(g => g.MinBy(r => r.Offset.Value)!.TopicPartitionOffset) ?? [])
                    {
                        try
                        {
                            consumer.Seek(start);
                        }
                        catch (KafkaException seekFailed) when (!consumer.Assignment.Contains(start.TopicPartition))
                        {
                            // The partition went to another consumer meanwhile (a rebalance): it starts from the last
                            // commit. Still ours, the failure ends the loop, as a later commit would skip the batch.
                            LogKafkaError(seekFailed.Error.Reason);
                        }
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping: nothing after the last commit is acknowledged.
        }
        finally
        {
            consumer.Close();
        }
    }

    /// <summary>False for a message re-driven for another group (<see cref="Redrive"/>): committed unread.</summary>
    internal static bool IsFor(string consumerGroup, Message<string, byte[]> message) =>
        message.Headers?.TryGetLastBytes(Redrive.TargetGroup, out var target) is not true
        || Encoding.UTF8.GetString(target) == consumerGroup;

    private Message<string, byte[]> DeadLetter(ConsumeResult<string, byte[]> result, string reason) => new()
    {
        Key = result.Message.Key,
        Value = result.Message.Value,
        Headers = new Headers
        {
            { "content-type", "application/cloudevents+json; charset=utf-8"u8.ToArray() },
            { "dlq_error", Encoding.UTF8.GetBytes(reason) },
            { "dlq_source", Encoding.UTF8.GetBytes(result.TopicPartitionOffset.ToString()) },
            { "dlq_consumer", Encoding.UTF8.GetBytes(identity.InstanceName) },
        },
    };

    [LoggerMessage(EventId = 3301, EventName = "KafkaConsumerError", Level = LogLevel.Warning, Message = "Kafka consumer error: {Reason}")]
    private partial void LogKafkaError(string reason);
}
