namespace StreamBets.Messaging;

public enum MessagingTransport
{
    RedisStreams,
    Kafka,
}

/// <summary>Settings of the event bus, bound from the "Messaging" configuration section.</summary>
public sealed class EventBusOptions
{
    public const string SectionName = "Messaging";

    /// <summary>Kafka in container mode and production; Redis Streams in local mode and CI.</summary>
    public MessagingTransport Transport { get; set; } = MessagingTransport.RedisStreams;

    /// <summary>
    /// The service's short name ("settlement"): its consumer group and the CloudEvents source "/streambets/{name}".
    /// Defaults to the application name without the "StreamBets." prefix, lower-cased.
    /// </summary>
    public string ServiceName { get; set; } = "";

    /// <summary>Handler attempts for one event before it goes to the dead letter with the last error.</summary>
    public int MaxDeliveryAttempts { get; set; } = 5;

    /// <summary>First retry delay; doubles per attempt up to <see cref="RetryMaxDelay"/>. Used by the relay and by consumers.</summary>
    public TimeSpan RetryInitialDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long processed event ids stay in the inbox; must exceed the longest possible redelivery (the stream retention).</summary>
    public TimeSpan InboxRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// How often every replica reads its consumer group's lag (events not yet applied, per topic) from the broker for
    /// the metric <c>streambets.messaging.consumer.lag</c>.
    /// </summary>
    public TimeSpan ConsumerLagSampleInterval { get; set; } = TimeSpan.FromSeconds(10);

    public OutboxRelayOptions Relay { get; } = new();

    public RedisStreamsOptions RedisStreams { get; } = new();

    public KafkaOptions Kafka { get; } = new();
}

public sealed class OutboxRelayOptions
{
    /// <summary>Rows read and published per round.</summary>
    public int BatchSize { get; set; } = 1000;

    /// <summary>Fallback poll when no commit notification arrives (notifications can be lost while the LISTEN connection reconnects).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often a replica that is not the relay leader tries to become it.</summary>
    public TimeSpan LeaderRetryInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often every replica, leader or not, measures the outbox lag (pending rows, oldest age) for the metrics.</summary>
    public TimeSpan LagSampleInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Add a PostgreSQL NOTIFY to outbox writes; it is delivered when the caller's transaction commits, so the relay
    /// (on any replica) publishes at once instead of at the next poll.
    /// </summary>
    public bool NotifyOnCommit { get; set; } = true;

    /// <summary>
    /// At most one notifying write per this interval per process. PostgreSQL serialises the commits of notifying
    /// transactions (a database-wide lock held through the WAL flush), so notifying every small transaction would cap
    /// a service near one commit per fsync; the relay's hot polling covers the writes in between.
    /// </summary>
    public TimeSpan NotifyDebounce { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>While the outbox had rows within <see cref="HotPeriod"/>, the relay re-reads it this often.</summary>
    public TimeSpan HotPollInterval { get; set; } = TimeSpan.FromMilliseconds(5);

    public TimeSpan HotPeriod { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How often the relay leader deletes the inbox rows older than <see cref="EventBusOptions.InboxRetention"/>
    /// (also once at the start of each leadership term). The cleanup runs beside publishing, never in its way.
    /// </summary>
    public TimeSpan InboxCleanupInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Expired inbox rows deleted per statement. Each batch commits on its own, so no statement runs long enough to meet
    /// the command timeout however large the backlog: one unbounded DELETE of a big inbox timed out and never shrank it.
    /// </summary>
    public int InboxCleanupBatchSize { get; set; } = 5_000;

    /// <summary>How soon a failed inbox cleanup is tried again (at most <see cref="InboxCleanupInterval"/>).</summary>
    public TimeSpan InboxCleanupRetryDelay { get; set; } = TimeSpan.FromMinutes(1);
}

public sealed class RedisStreamsOptions
{
    /// <summary>Prefix of every key the bus uses, so environments (or test runs) can share one Redis.</summary>
    public string KeyPrefix { get; set; } = "streambets";

    /// <summary>
    /// Streams per topic; an event goes to stream "{prefix}:{topic}:{hash(key) % N}". Fixed for the life of the
    /// deployment: changing it moves keys between streams and breaks per-key order for in-flight events.
    /// </summary>
    public int PartitionsPerTopic { get; set; } = 16;

    /// <summary>Approximate cap per partition stream (XADD MAXLEN ~). Bounds memory, and so how long a consumer group may be down.</summary>
    public int MaxLengthPerPartition { get; set; } = 100_000;

    /// <summary>Entries read per XREADGROUP.</summary>
    public int ReadBatchSize { get; set; } = 200;

    /// <summary>
    /// Longest wait between reads of an idle partition. Appends ring the partition's doorbell, which ends the wait at once,
    /// and a restored connection rings every partition (rings sent while it was down are lost); this is the backstop for
    /// a ring lost any other way. At 250 ms the idle reads were most of an idle app's Redis traffic.
    /// </summary>
    public TimeSpan IdlePollMax { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>A consumer owns a partition through a lease it renews; a dead consumer's partitions are free after this.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Cap of each group's dead-letter stream "{prefix}:deadletter:{group}".</summary>
    public int DeadLetterMaxLength { get; set; } = 100_000;
}

public sealed class KafkaOptions
{
    /// <summary>Topic name = prefix + bounded context, e.g. "streambets.pools"; dead letters go to "streambets.deadletter.{group}".</summary>
    public string TopicPrefix { get; set; } = "streambets.";

    /// <summary>Producer batching window (linger.ms).</summary>
    public int LingerMs { get; set; } = 5;

    /// <summary>How long the producer keeps retrying one message before reporting it failed (message.timeout.ms).</summary>
    public int MessageTimeoutMs { get; set; } = 30_000;

    public int SessionTimeoutMs { get; set; } = 10_000;

    /// <summary>
    /// How long one batch may take between two polls before Kafka drops the consumer from its group (max.poll.interval.ms;
    /// Kafka's default is 5 min). A batch whose every event fails is retried one event at a time, each up to its attempts
    /// (~3 s of backoff): 200 of them take ~10 min. Dropped mid-batch, the consumer could neither commit nor dead-letter,
    /// and it read the same batch again for ever. Also how long a rebalance may wait for a member busy on a batch.
    /// </summary>
    public int MaxPollIntervalMs { get; set; } = 900_000;

    /// <summary>Partitions of each topic the bus creates (per-key order holds within a partition).</summary>
    public int Partitions { get; set; } = 16;

    /// <summary>Replication factor of the topics the bus creates; -1 takes the broker's default.</summary>
    public short ReplicationFactor { get; set; } = -1;

    /// <summary>Messages handed to the dispatcher together (they commit in one transaction when all succeed).</summary>
    public int ConsumeBatchSize { get; set; } = 200;
}
