namespace StreamBets.Messaging.Transports;

/// <summary>An outbox row on its way to the broker.</summary>
internal sealed record OutgoingMessage(long Position, Guid EventId, string Topic, string Key, string EventType, ReadOnlyMemory<byte> Body)
{
    /// <summary>Earlier rounds the broker did not acknowledge this row (the outbox's <c>attempts</c>); paces its key's retries.</summary>
    public int Attempts { get; init; }
}

/// <summary>The broker side of the relay.</summary>
internal interface IEventPublisher
{
    /// <summary>
    /// Publishes the messages in order and waits for the broker's acknowledgements. For each message the result is null
    /// when the broker acknowledged it, or the error. Per key, failures are a suffix: once a message of a key fails, the
    /// later messages of that key are not acknowledged either (the transports send them in order on one connection or
    /// one idempotent producer, and do not send a key's later messages after one was refused before it was sent).
    /// </summary>
    Task<Exception?[]> PublishAsync(IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken);
}

/// <summary>What a consumer does with a delivered message after the dispatcher ran.</summary>
internal readonly record struct DeliveryOutcome(string? DeadLetterReason)
{
    public static readonly DeliveryOutcome Done = new(null);

    public bool IsDeadLetter => DeadLetterReason is not null;

    public static DeliveryOutcome DeadLetter(string reason) => new(reason);
}

/// <summary>Applies delivered messages; implemented once (<see cref="Consuming.EventDispatcher"/>) for every transport.</summary>
internal interface IDeliveryProcessor
{
    /// <summary>
    /// Applies the messages in order. Returns an outcome per message: acknowledge it, or dead-letter it with the reason
    /// and then acknowledge it. Throws only when cancelled, and then nothing after the last commit may be acknowledged.
    /// </summary>
    Task<DeliveryOutcome[]> ProcessAsync(IReadOnlyList<ReadOnlyMemory<byte>> bodies, CancellationToken cancellationToken);
}

/// <summary>The broker side of the consumers: delivers the subscribed topics to the processor until cancelled.</summary>
internal interface IEventConsumer
{
    Task RunAsync(IReadOnlyCollection<string> topics, IDeliveryProcessor processor, CancellationToken cancellationToken);
}

/// <summary>
/// How far the service's consumer group is behind, read from the broker's view of the group (not from this replica's
/// own progress), so a group whose consumers hang, crash in a loop or never start still shows its backlog.
/// </summary>
internal interface IConsumerLagSource
{
    /// <returns>For each topic, the events on it the group has not applied yet: not yet delivered, or delivered and not
    /// yet acknowledged (Redis Streams) or committed (Kafka).</returns>
    Task<IReadOnlyDictionary<string, long>> SampleAsync(IReadOnlyCollection<string> topics, CancellationToken cancellationToken);
}

/// <summary>
/// A dead-lettered event put back on its stream or topic for one consumer group (docs/runbook.md, "Re-driving a dead
/// letter") names that group in this stream field (Redis Streams) or message header (Kafka). Every other group
/// acknowledges it unread: they applied the event the first time, and a group without an inbox would apply it again.
/// </summary>
internal static class Redrive
{
    public const string TargetGroup = "redrive-to";
}

/// <summary>Exponential backoff shared by the relay and the consumers.</summary>
internal static class Backoff
{
    public static TimeSpan Delay(int attempt, TimeSpan initial, TimeSpan max)
    {
        var factor = Math.Pow(2, Math.Clamp(attempt - 1, 0, 30));
        var delay = TimeSpan.FromMilliseconds(Math.Min(initial.TotalMilliseconds * factor, max.TotalMilliseconds));
        // Jitter (±20 %) keeps replicas that failed together from retrying together.
        return delay * (0.8 + Random.Shared.NextDouble() * 0.4);
    }
}
