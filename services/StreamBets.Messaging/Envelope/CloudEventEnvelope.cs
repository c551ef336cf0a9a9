using System.Net.Mime;
using System.Text.Json;
using CloudNative.CloudEvents;
using CloudNative.CloudEvents.Extensions;
using CloudNative.CloudEvents.SystemTextJson;
using StreamBets.Contracts.IntegrationEvents;

namespace StreamBets.Messaging.Envelope;

/// <summary>An event as it travels: CloudEvents 1.0 attributes plus the W3C trace context, and its JSON data.</summary>
public sealed record EventEnvelope(
    Guid Id, string Type, string Source, DateTimeOffset Time, string Subject, string? TraceParent, string? TraceState, JsonElement Data);

/// <summary>
/// Encodes and decodes the CloudEvents structured-mode JSON that both transports carry unchanged, so a message
/// looks the same on Redis Streams and Kafka.
/// </summary>
internal static class CloudEventEnvelope
{
    public static readonly JsonSerializerOptions SerializerOptions = new(JsonSerializerDefaults.Web);

    private static readonly JsonEventFormatter Formatter = new(SerializerOptions, default);
    private static readonly ContentType StructuredContentType = new("application/cloudevents+json; charset=utf-8");

    // The CloudEvents distributed-tracing extension attributes (W3C trace context); the SDK no longer ships them.
    private static readonly CloudEventAttribute TraceParentAttribute = CloudEventAttribute.CreateExtension("traceparent", CloudEventAttributeType.String);
    private static readonly CloudEventAttribute TraceStateAttribute = CloudEventAttribute.CreateExtension("tracestate", CloudEventAttributeType.String);
    private static readonly CloudEventAttribute[] Extensions = [TraceParentAttribute, TraceStateAttribute, Partitioning.PartitionKeyAttribute];

    public static byte[] Encode(IIntegrationEvent @event, Guid id, string type, Uri source, DateTimeOffset time, string? traceParent, string? traceState)
    {
        var cloudEvent = new CloudEvent(CloudEventsSpecVersion.V1_0, Extensions)
        {
            Id = id.ToString(),
            Type = type,
            Source = source,
            Time = time,
            Subject = @event.AggregateId,
            DataContentType = MediaTypeNames.Application.Json,
            Data = JsonSerializer.SerializeToElement(@event, @event.GetType(), SerializerOptions),
        };
        cloudEvent.SetPartitionKey(@event.AggregateId);
        if (traceParent is not null)
        {
            cloudEvent[TraceParentAttribute] = traceParent;
        }
        if (!string.IsNullOrEmpty(traceState))
        {
            cloudEvent[TraceStateAttribute] = traceState;
        }
        return Formatter.EncodeStructuredModeMessage(cloudEvent, out _).ToArray();
    }

    /// <exception cref="FormatException">The bytes are not a CloudEvent this bus wrote.</exception>
    public static EventEnvelope Decode(ReadOnlyMemory<byte> body)
    {
        CloudEvent cloudEvent;
        try
        {
            cloudEvent = Formatter.DecodeStructuredModeMessage(body, StructuredContentType, Extensions);
        }
        catch (Exception e) when (e is ArgumentException or JsonException or InvalidOperationException)
        {
            throw new FormatException($"Not a CloudEvent: {e.Message}", e);
        }

        if (!Guid.TryParse(cloudEvent.Id, out var id) || cloudEvent.Data is not JsonElement data)
        {
            throw new FormatException("The CloudEvent has no GUID id or no JSON data.");
        }
        return new EventEnvelope(
            id, cloudEvent.Type!, cloudEvent.Source!.ToString(), cloudEvent.Time ?? DateTimeOffset.MinValue,
            cloudEvent.Subject ?? "", cloudEvent[TraceParentAttribute] as string, cloudEvent[TraceStateAttribute] as string, data);
    }
}
