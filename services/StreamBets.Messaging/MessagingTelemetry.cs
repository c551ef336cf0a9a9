using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace StreamBets.Messaging;

/// <summary>The bus's traces and metrics; ServiceDefaults listens to every "StreamBets.*" source and meter.</summary>
internal static class MessagingTelemetry
{
    public const string Name = "StreamBets.Messaging";

    public static readonly ActivitySource Source = new(Name);
    public static readonly Meter Meter = new(Name);

    public static readonly Counter<long> Published = Meter.CreateCounter<long>("streambets.messaging.published", "{event}", "Events the broker acknowledged.");
    public static readonly Counter<long> PublishFailures = Meter.CreateCounter<long>("streambets.messaging.publish_failures", "{event}", "Events the broker did not acknowledge (retried).");
    public static readonly Counter<long> Handled = Meter.CreateCounter<long>("streambets.messaging.handled", "{event}", "Events a handler applied.");
    public static readonly Counter<long> Duplicates = Meter.CreateCounter<long>("streambets.messaging.duplicates", "{event}", "Redelivered events the inbox skipped.");
    public static readonly Counter<long> DeadLettered = Meter.CreateCounter<long>("streambets.messaging.dead_lettered", "{event}", "Events sent to the dead letter: after their last attempt, unreadable, or trimmed from the stream before they were applied.");
    public static readonly Histogram<double> EndToEnd = Meter.CreateHistogram<double>("streambets.messaging.end_to_end", "ms", "From the outbox write to the handler's commit.");

    /// <summary>The consumer group a per-group series belongs to (OpenTelemetry messaging semantic conventions).</summary>
    public const string ConsumerGroupTag = "messaging.consumer.group.name";

    /// <summary>The bus topic ("pools"), never a partition, stream or offset: the series stay few.</summary>
    public const string TopicTag = "messaging.destination.name";

    public static void RecordDeadLettered(string consumerGroup) =>
        DeadLettered.Add(1, new KeyValuePair<string, object?>(ConsumerGroupTag, consumerGroup));

    /// <summary>The series of a consumer group's events from one topic (handled, duplicates, end to end).</summary>
    public static TagList ConsumerSeries(string consumerGroup, string topic) =>
        new() { { ConsumerGroupTag, consumerGroup }, { TopicTag, topic } };

    public static void SetMessagingTags(Activity activity, string system, string topic, string eventType, Guid eventId)
    {
        activity.SetTag("messaging.system", system);
        activity.SetTag(TopicTag, topic);
        activity.SetTag("messaging.message.id", eventId);
        activity.SetTag("cloudevents.event_type", eventType);
    }
}
