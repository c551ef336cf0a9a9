using System.Text;
using Confluent.Kafka;
using StreamBets.Messaging.Transports.Kafka;
using StreamBets.Testing;

namespace StreamBets.Messaging.Tests;

/// <summary>
/// The same contract on Kafka. No broker can run on our machines, so it runs only where one is configured:
/// STREAMBETS_TEST_KAFKA=host:port (or ConnectionStrings__kafka). Elsewhere every test reports itself skipped.
/// </summary>
public sealed class KafkaEventBusTests : EventBusContract
{
    private static readonly string? BootstrapServers =
        Environment.GetEnvironmentVariable("STREAMBETS_TEST_KAFKA") is { Length: > 0 } configured ? configured
        : Environment.GetEnvironmentVariable("ConnectionStrings__kafka") is { Length: > 0 } connection ? connection
        : null;

    private const string NoBroker = "Skipped: no Kafka broker is configured here (set STREAMBETS_TEST_KAFKA=host:port to run the Kafka contract).";

    protected override Task<BusSetup> SetUpAsync()
    {
        Skip.If(BootstrapServers is null, NoBroker);
        return Task.FromResult(new BusSetup(
            MessagingTransport.Kafka,
            new Dictionary<string, string?> { ["ConnectionStrings:kafka"] = BootstrapServers },
            $"t{Guid.NewGuid():N}"[..12]));
    }

    protected override Task<(BusSetup Setup, LocalServer Broker)> SetUpStoppableAsync()
    {
        Skip.If(BootstrapServers is null, NoBroker);
        Skip.If(true, "Skipped on Kafka: the test cannot stop an external broker; the outage contract runs on Redis Streams.");
        throw new InvalidOperationException("Unreachable.");
    }

    protected override Task<IReadOnlyList<DeadLetter>> DeadLettersAsync(BusSetup setup, string consumerGroup) =>
        Task.FromResult<IReadOnlyList<DeadLetter>>([.. ReadDeadLetters(setup, consumerGroup).Select(m =>
            new DeadLetter(
                System.Text.Json.JsonDocument.Parse(m.Value).RootElement.GetProperty("type").GetString()!,
                Encoding.UTF8.GetString(m.Headers.GetLastBytes("dlq_error"))))]);

    /// <summary>
    /// What docs/runbook.md has an operator do with kcat: each dead letter's value and key produced again to the topic
    /// its dlq_source header names, with the header redrive-to naming the group.
    /// </summary>
    protected override async Task RedriveAsync(BusSetup setup, string consumerGroup)
    {
        using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = BootstrapServers }).Build();
        foreach (var letter in ReadDeadLetters(setup, consumerGroup))
        {
            var source = Encoding.UTF8.GetString(letter.Headers.GetLastBytes("dlq_source")); // "topic [partition] @offset"
            await producer.ProduceAsync(source[..source.IndexOf(" [", StringComparison.Ordinal)], new Message<string, byte[]>
            {
                Key = letter.Key,
                Value = letter.Value,
                Headers = new Headers
                {
                    { "content-type", letter.Headers.GetLastBytes("content-type") },
                    { "redrive-to", Encoding.UTF8.GetBytes(consumerGroup) },
                },
            });
        }
    }

    private static List<Message<string, byte[]>> ReadDeadLetters(BusSetup setup, string consumerGroup)
    {
        using var consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig
        {
            BootstrapServers = BootstrapServers,
            GroupId = $"dlq-reader-{Guid.NewGuid():N}",
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
        }).Build();
        consumer.Subscribe($"{setup.Prefix}.deadletter.{consumerGroup}");
        var letters = new List<Message<string, byte[]>>();
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (DateTime.UtcNow < deadline && consumer.Consume(TimeSpan.FromMilliseconds(500)) is { } result)
        {
            letters.Add(result.Message);
        }
        consumer.Close();
        return letters;
    }

    [Fact]
    public void A_message_re_driven_for_another_group_is_passed_over_and_one_without_the_header_is_for_every_group()
    {
        // Runs everywhere (the contract's re-drive test needs a broker): the filter the consumer applies to a batch.
        Message<string, byte[]> Message(Headers? headers) => new() { Key = "k", Value = [], Headers = headers };
        var forPools = Message(new Headers { { "redrive-to", "pools"u8.ToArray() } });

        Assert.True(KafkaConsumer.IsFor("pools", forPools));
        Assert.False(KafkaConsumer.IsFor("realtime", forPools));
        Assert.True(KafkaConsumer.IsFor("realtime", Message(new Headers { { "content-type", "application/cloudevents+json"u8.ToArray() } })));
        Assert.True(KafkaConsumer.IsFor("realtime", Message(null)));
    }

    [Fact]
    public async Task Events_stay_in_the_outbox_while_no_Kafka_broker_answers()
    {
        // Runs everywhere: a closed local port is a dead broker, and the relay must keep every row and say why.
        var setup = new BusSetup(
            MessagingTransport.Kafka,
            new Dictionary<string, string?> { ["ConnectionStrings:kafka"] = "127.0.0.1:1", ["Messaging:Kafka:MessageTimeoutMs"] = "1500" },
            $"t{Guid.NewGuid():N}"[..12]);
        var database = await TestDatabases.CreateAsync("kafkadown");
        await using var publisher = await TestService.StartAsync(setup, database, "wallet");

        var (alice, bob) = (Guid.NewGuid(), Guid.NewGuid());
        await publisher.PublishAsync(Events.Counted(alice, 1), Events.Counted(alice, 2), Events.Counted(bob, 1));

        await Eventually.TrueAsync(async () => await TestDatabases.CountAsync(database, "SELECT count(*) FROM outbox WHERE attempts > 0") > 0,
            TimeSpan.FromSeconds(30), "the relay records a failed attempt");
        Assert.Equal(3, await TestDatabases.CountAsync(database, "SELECT count(*) FROM outbox"));
        // The failure is recorded on the first waiting row of each key, where an operator looks first.
        Assert.Equal(2, await TestDatabases.CountAsync(database, "SELECT count(*) FROM outbox WHERE last_error <> ''"));
    }

    // Committed offsets against log ends would need an admin round trip per partition; the effect checks suffice.
    protected override Task<long?> UnacknowledgedAsync(BusSetup setup, string consumerGroup) => Task.FromResult<long?>(null);
}
