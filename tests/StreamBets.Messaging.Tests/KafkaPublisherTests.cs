using System.Reflection;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using StreamBets.Messaging.Transports;
using StreamBets.Messaging.Transports.Kafka;

namespace StreamBets.Messaging.Tests;

/// <summary>The Kafka publisher's own decisions, against stand-ins for librdkafka's producer and admin client (no broker).</summary>
public sealed class KafkaPublisherTests
{
    private static readonly KafkaOptions Options = new() { TopicPrefix = "t." };

    [Fact]
    public async Task A_producer_that_met_a_fatal_error_is_replaced_so_the_next_round_publishes()
    {
        var fatal = new Error(ErrorCode.OutOfOrderSequenceNumber, "Broker: out of order sequence number", isFatal: true);
        var producers = new List<FakeProducer>();
        var publisher = new KafkaPublisher(() =>
        {
            // The first producer is broken for good, as librdkafka's is after a fatal error; the next one works.
            var producer = FakeProducer.Create(producers.Count == 0 ? fatal : null);
            producers.Add(producer);
            return (IProducer<string, byte[]>)(object)producer;
        }, new KafkaTopics(Options, () => FakeAdminClient.Create(existing: ["t.wallet"])));

        var first = await publisher.PublishAsync([Message(1), Message(2)], CancellationToken.None);
        var second = await publisher.PublishAsync([Message(1), Message(2)], CancellationToken.None);

        Assert.All(first, e => Assert.True(e is KafkaException { Error.IsFatal: true }));
        Assert.All(second, Assert.Null);
        Assert.Equal(2, producers.Count);
        Assert.True(producers[0].Disposed, "the broken producer is disposed");
        Assert.Equal(2, producers[1].Produced);
    }

    [Fact]
    public async Task An_existing_topic_is_published_to_without_asking_to_create_it()
    {
        // A service principal without the CREATE permission: Kafka refuses to create any topic, existing ones included.
        var admin = FakeAdminClient.Create(existing: ["t.wallet"], createError: ErrorCode.TopicAuthorizationFailed);
        var producer = FakeProducer.Create(null);
        var publisher = new KafkaPublisher(() => (IProducer<string, byte[]>)(object)producer, new KafkaTopics(Options, () => admin));

        var results = await publisher.PublishAsync([Message(1)], CancellationToken.None);

        Assert.Null(Assert.Single(results));
        Assert.Empty(((FakeAdminClient)(object)admin).CreateRequests);
    }

    [Fact]
    public async Task A_topic_that_cannot_be_created_fails_only_its_own_events()
    {
        var admin = FakeAdminClient.Create(existing: ["t.wallet"], createError: ErrorCode.TopicAuthorizationFailed);
        var producer = FakeProducer.Create(null);
        var publisher = new KafkaPublisher(() => (IProducer<string, byte[]>)(object)producer, new KafkaTopics(Options, () => admin));

        var results = await publisher.PublishAsync([Message(1), Message(2, topic: "pools"), Message(3)], CancellationToken.None);

        Assert.Null(results[0]);
        Assert.Equal(ErrorCode.TopicAuthorizationFailed, Assert.IsType<KafkaException>(results[1]).Error.Code);
        Assert.Null(results[2]);
        Assert.Equal(["t.pools"], ((FakeAdminClient)(object)admin).CreateRequests);
    }

    private static OutgoingMessage Message(long position, string topic = "wallet") =>
        new(position, Guid.NewGuid(), topic, "user-1", "streambets.wallet.test-counted.v1", "{}"u8.ToArray());

    /// <summary>librdkafka's producer, as far as the publisher uses it: produces (or fails every message with a fixed error).</summary>
    public class FakeProducer : DispatchProxy
    {
        private Error? _error;

        public int Produced { get; private set; }
        public bool Disposed { get; private set; }

        public static FakeProducer Create(Error? error)
        {
            var producer = (FakeProducer)(object)Create<IProducer<string, byte[]>, FakeProducer>();
            producer._error = error;
            return producer;
        }

        protected override object? Invoke(MethodInfo? method, object?[]? args) => method!.Name switch
        {
            "ProduceAsync" when _error is not null => Task.FromException<DeliveryResult<string, byte[]>>(
                new ProduceException<string, byte[]>(_error, new DeliveryResult<string, byte[]>())),
            "ProduceAsync" => Acknowledge((Message<string, byte[]>)args![1]!),
            "Dispose" => Disposed = true,
            "Flush" => 0,
            _ => throw new NotSupportedException(method.Name),
        };

        private Task<DeliveryResult<string, byte[]>> Acknowledge(Message<string, byte[]> message)
        {
            Produced++;
            return Task.FromResult(new DeliveryResult<string, byte[]> { Status = PersistenceStatus.Persisted, Message = message });
        }
    }

    /// <summary>An admin client for a cluster holding <c>existing</c> topics, whose topic creation fails with <c>createError</c>.</summary>
    public class FakeAdminClient : DispatchProxy
    {
        private string[] _existing = [];
        private ErrorCode _createError;

        public List<string> CreateRequests { get; } = [];

        public static IAdminClient Create(string[] existing, ErrorCode createError = ErrorCode.NoError)
        {
            var admin = Create<IAdminClient, FakeAdminClient>();
            ((FakeAdminClient)(object)admin)._existing = existing;
            ((FakeAdminClient)(object)admin)._createError = createError;
            return admin;
        }

        protected override object? Invoke(MethodInfo? method, object?[]? args)
        {
            switch (method!.Name)
            {
                case "GetMetadata":
                    return new Metadata([], [.. _existing.Select(t => new TopicMetadata(t, [], new Error(ErrorCode.NoError)))], 1, "fake");
                case "CreateTopicsAsync":
                    var topics = ((IEnumerable<TopicSpecification>)args![0]!).Select(t => t.Name).ToList();
                    CreateRequests.AddRange(topics);
                    return _createError == ErrorCode.NoError
                        ? Task.CompletedTask
                        : Task.FromException(new CreateTopicsException([.. topics.Select(t => new CreateTopicReport { Topic = t, Error = new Error(_createError) })]));
                case "Dispose":
                    return null;
                default:
                    throw new NotSupportedException(method.Name);
            }
        }
    }
}
