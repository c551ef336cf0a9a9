using System.Reflection;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using StreamBets.Messaging.Transports;
using StreamBets.Messaging.Transports.Kafka;
using static StreamBets.Messaging.Tests.KafkaOrderingTests;
using static StreamBets.Messaging.Tests.KafkaPublisherTests;

namespace StreamBets.Messaging.Tests;

/// <summary>The Kafka consumer's dead-letter queue, against stand-ins for librdkafka's consumer, producer and admin client (no broker).</summary>
public sealed class KafkaDeadLetterTests
{
    private static readonly KafkaOptions Options = new() { TopicPrefix = "t." };

    [Fact]
    public async Task A_dead_letter_producer_that_met_a_fatal_error_is_replaced_so_the_poison_event_is_dead_lettered()
    {
        var fatal = new Error(ErrorCode.OutOfOrderSequenceNumber, "Broker: out of order sequence number", isFatal: true);
        var producers = new List<ScriptedProducer>();
        var consumer = ScriptedConsumer.Create("t.wallet", "poison", "good");
        var kafka = new KafkaConsumer(Options, new KafkaTopics(Options, () => FakeAdminClient.Create(existing: ["t.wallet", "t.deadletter.wallet"])),
            new EventBusIdentity("wallet"), NullLogger<KafkaConsumer>.Instance,
            () => consumer,
            () =>
            {
                // The first producer is broken for good, as librdkafka's is after a fatal error; the next one works.
                var producer = ScriptedProducer.Create(_ => producers.Count == 1 ? fatal : null);
                producers.Add((ScriptedProducer)(object)producer);
                return producer;
            });
        var processor = new PoisonRefusingProcessor();
        using var stop = new CancellationTokenSource();

        var running = kafka.RunAsync(["wallet"], processor, stop.Token);
        await Eventually.TrueAsync(() => Task.FromResult(((ScriptedConsumer)(object)consumer).Committed == 2 || running.IsCompleted),
            TimeSpan.FromSeconds(10), "the batch is committed past both events");
        await stop.CancelAsync();
        await running;

        Assert.Equal(2, producers.Count);
        Assert.True(producers[0].Disposed, "the broken producer is disposed");
        var deadLetter = Assert.Single(producers[1].Produced);
        Assert.Equal("poison", Encoding.UTF8.GetString(deadLetter.Value));
        Assert.Contains("good", processor.Applied);
    }

    /// <summary>Dead-letters the events whose body is "poison" and applies the others.</summary>
    private sealed class PoisonRefusingProcessor : IDeliveryProcessor
    {
        public List<string> Applied { get; } = [];

        public Task<DeliveryOutcome[]> ProcessAsync(IReadOnlyList<ReadOnlyMemory<byte>> bodies, CancellationToken cancellationToken) =>
            Task.FromResult(bodies.Select(b => Encoding.UTF8.GetString(b.Span)).Select(body =>
            {
                Applied.Add(body);
                return body == "poison" ? DeliveryOutcome.DeadLetter("poison") : DeliveryOutcome.Done;
            }).ToArray());
    }

    /// <summary>librdkafka's consumer, on one partition holding the given bodies: delivers, seeks back and records commits.</summary>
    public class ScriptedConsumer : DispatchProxy
    {
        private TopicPartition _partition = null!;
        private string[] _bodies = [];
        private long _position;

        public long Committed { get; private set; } = -1;

        public static IConsumer<string, byte[]> Create(string topic, params string[] bodies)
        {
            var consumer = Create<IConsumer<string, byte[]>, ScriptedConsumer>();
            ((ScriptedConsumer)(object)consumer)._partition = new TopicPartition(topic, 0);
            ((ScriptedConsumer)(object)consumer)._bodies = bodies;
            return consumer;
        }

        protected override object? Invoke(MethodInfo? method, object?[]? args)
        {
            switch (method!.Name)
            {
                case "Consume" when args![0] is CancellationToken cancellationToken:
                    if (Next() is { } result)
                    {
                        return result;
                    }
                    cancellationToken.WaitHandle.WaitOne();
                    throw new OperationCanceledException(cancellationToken);
                case "Consume":
                    return Next();
                case "Commit":
                    Committed = ((IEnumerable<TopicPartitionOffset>)args![0]!).Single().Offset.Value;
                    return null;
                case "Seek":
                    _position = ((TopicPartitionOffset)args![0]!).Offset.Value;
                    return null;
                case "get_Assignment":
                    return new List<TopicPartition> { _partition };
                case "Subscribe" or "Close" or "Dispose":
                    return null;
                default:
                    throw new NotSupportedException(method.Name);
            }
        }

        private ConsumeResult<string, byte[]>? Next() => _position < _bodies.Length
            ? new ConsumeResult<string, byte[]>
            {
                TopicPartitionOffset = new TopicPartitionOffset(_partition, _position),
                Message = new Message<string, byte[]> { Key = "user-1", Value = Encoding.UTF8.GetBytes(_bodies[_position++]) },
            }
            : null;
    }
}
