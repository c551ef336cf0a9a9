using System.Reflection;
using Confluent.Kafka;
using StreamBets.Messaging.Transports;
using StreamBets.Messaging.Transports.Kafka;
using static StreamBets.Messaging.Tests.KafkaPublisherTests;

namespace StreamBets.Messaging.Tests;

/// <summary>Per-key order through librdkafka's refusals, against stand-ins for its producer and admin client (no broker).</summary>
public sealed class KafkaOrderingTests
{
    private static readonly KafkaOptions Options = new() { TopicPrefix = "t." };

    [Fact]
    public async Task A_message_refused_before_it_is_queued_keeps_its_keys_later_messages_from_being_produced()
    {
        // librdkafka refuses a message over message.max.bytes at once (MsgSizeTooLarge), and queues the next.
        var producer = ScriptedProducer.Create(message => message.Value.Length > 100 ? new Error(ErrorCode.MsgSizeTooLarge) : null);
        var publisher = new KafkaPublisher(() => producer, new KafkaTopics(Options, () => FakeAdminClient.Create(existing: ["t.wallet"])));

        var results = await publisher.PublishAsync(
            [Message(1, "user-a", new byte[1_000]), Message(2, "user-a", "{}"u8.ToArray()), Message(3, "user-b", "{}"u8.ToArray())],
            CancellationToken.None);

        Assert.NotNull(results[0]);
        Assert.NotNull(results[1]);
        Assert.Null(results[2]);
        Assert.Equal(["user-b"], ((ScriptedProducer)(object)producer).Produced.Select(m => m.Key));
    }

    private static OutgoingMessage Message(long position, string key, byte[] body) =>
        new(position, Guid.NewGuid(), "wallet", key, "streambets.wallet.test-counted.v1", body);

    /// <summary>librdkafka's producer: refuses a message at once with the error <c>refuse</c> gives it (null: acknowledged).</summary>
    public class ScriptedProducer : DispatchProxy
    {
        private Func<Message<string, byte[]>, Error?> _refuse = _ => null;

        public List<Message<string, byte[]>> Produced { get; } = [];
        public bool Disposed { get; private set; }

        public static IProducer<string, byte[]> Create(Func<Message<string, byte[]>, Error?> refuse)
        {
            var producer = Create<IProducer<string, byte[]>, ScriptedProducer>();
            ((ScriptedProducer)(object)producer)._refuse = refuse;
            return producer;
        }

        protected override object? Invoke(MethodInfo? method, object?[]? args)
        {
            switch (method!.Name)
            {
                case "ProduceAsync":
                    var message = (Message<string, byte[]>)args![1]!;
                    if (_refuse(message) is { } error)
                    {
                        return Task.FromException<DeliveryResult<string, byte[]>>(
                            new ProduceException<string, byte[]>(error, new DeliveryResult<string, byte[]> { Message = message }));
                    }
                    Produced.Add(message);
                    return Task.FromResult(new DeliveryResult<string, byte[]> { Status = PersistenceStatus.Persisted, Message = message });
                case "Dispose":
                    Disposed = true;
                    return null;
                case "Flush":
                    return 0;
                default:
                    throw new NotSupportedException(method.Name);
            }
        }
    }
}
