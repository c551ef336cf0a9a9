using System.Net.Mime;
using System.Text;
using CloudNative.CloudEvents;
using CloudNative.CloudEvents.Extensions;
using CloudNative.CloudEvents.SystemTextJson;
using System.Text.Json;
using System.Text.RegularExpressions;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging.Envelope;

namespace StreamBets.Messaging.Tests;

public sealed partial class ContractCatalogTests
{
    [Fact]
    public void Every_integration_event_has_a_unique_versioned_type_name_and_a_known_topic()
    {
        var events = IntegrationEventMetadata.ContractEvents;
        Assert.True(events.Count >= 18, $"only {events.Count} integration events");
        var topics = typeof(IntegrationTopics).GetFields().Select(f => (string)f.GetValue(null)!).ToHashSet();
        var types = events.Select(IntegrationEventMetadata.Of).ToArray();
        Assert.All(types, t => Assert.Matches(TypeName(), t.Type));
        Assert.All(types, t => Assert.Contains(t.Topic, topics));
        Assert.All(types, t => Assert.StartsWith($"streambets.{t.Topic}.", t.Type, StringComparison.Ordinal));
        Assert.Equal(types.Length, types.Select(t => t.Type).Distinct().Count());
    }

    [Fact]
    public void Envelope_carries_the_CloudEvents_attributes_the_trace_context_and_the_data()
    {
        var @event = new PoolResolved(Guid.NewGuid(), [Guid.NewGuid(), Guid.NewGuid()], DateTimeOffset.Parse("2025-01-02T03:04:05Z"));
        var id = Guid.CreateVersion7();
        const string traceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

        var bytes = CloudEventEnvelope.Encode(@event, id, "streambets.pools.resolved.v1", new Uri("urn:streambets:pools"), @event.ResolvedAt, traceParent, "vendor=1");
        var json = JsonDocument.Parse(bytes).RootElement;
        Assert.Equal("1.0", json.GetProperty("specversion").GetString());
        Assert.Equal(@event.PoolId.ToString(), json.GetProperty("subject").GetString());
        Assert.Equal(@event.PoolId.ToString(), json.GetProperty("partitionkey").GetString());
        Assert.False(json.GetProperty("data").TryGetProperty("aggregateId", out _), "the key is an envelope attribute, not data");

        var envelope = CloudEventEnvelope.Decode(bytes);
        Assert.Equal(id, envelope.Id);
        Assert.Equal("streambets.pools.resolved.v1", envelope.Type);
        Assert.Equal("urn:streambets:pools", envelope.Source);
        Assert.Equal(@event.ResolvedAt, envelope.Time);
        Assert.Equal(traceParent, envelope.TraceParent);
        Assert.Equal("vendor=1", envelope.TraceState);
        var decoded = JsonSerializer.Deserialize<PoolResolved>(envelope.Data.Span, CloudEventEnvelope.SerializerOptions)!;
        Assert.Equal(@event.WinningOutcomeIds, decoded.WinningOutcomeIds);
        Assert.Equal(@event.PoolId, decoded.PoolId);
    }

    [Fact]
    public void The_CloudEvents_SDK_reads_our_envelopes_and_we_read_its_events()
    {
        var traceParent = CloudEventAttribute.CreateExtension("traceparent", CloudEventAttributeType.String);
        var formatter = new JsonEventFormatter();
        var @event = new KycStatusChanged(Guid.NewGuid(), "verified", 2, null, DateTimeOffset.UtcNow);
        var id = Guid.NewGuid();
        var time = new DateTimeOffset(2025, 5, 6, 7, 8, 9, 123, TimeSpan.Zero);
        const string trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

        var ours = CloudEventEnvelope.Encode(@event, id, "streambets.users.kyc-status-changed.v1", new Uri("urn:streambets:users"), time, trace, null);
        var read = formatter.DecodeStructuredModeMessage(ours, new ContentType(CloudEventEnvelope.ContentType), [traceParent, Partitioning.PartitionKeyAttribute]);
        Assert.Equal(id.ToString(), read.Id);
        Assert.Equal("streambets.users.kyc-status-changed.v1", read.Type);
        Assert.Equal("urn:streambets:users", read.Source!.ToString());
        Assert.Equal(time, read.Time);
        Assert.Equal(@event.UserId.ToString(), read.Subject);
        Assert.Equal(@event.UserId.ToString(), read.GetPartitionKey());
        Assert.Equal(trace, read[traceParent]);
        Assert.Equal(2, ((JsonElement)read.Data!).GetProperty("tier").GetInt32());

        var theirs = new CloudEvent(CloudEventsSpecVersion.V1_0, [traceParent])
        {
            Id = id.ToString(), Type = "streambets.users.kyc-status-changed.v1", Source = new Uri("urn:streambets:users"), Time = time,
            Subject = @event.AggregateId, DataContentType = "application/json",
            Data = JsonSerializer.SerializeToElement(@event, CloudEventEnvelope.SerializerOptions),
        };
        theirs[traceParent] = trace;
        var envelope = CloudEventEnvelope.Decode(formatter.EncodeStructuredModeMessage(theirs, out _));
        Assert.Equal((id, time, trace, @event.AggregateId), (envelope.Id, envelope.Time, envelope.TraceParent, envelope.Subject));
        Assert.Equal(@event, JsonSerializer.Deserialize<KycStatusChanged>(envelope.Data.Span, CloudEventEnvelope.SerializerOptions));
    }

    [Fact]
    public void Bytes_that_are_not_a_CloudEvent_are_rejected_as_unreadable()
    {
        Assert.Throws<FormatException>(() => CloudEventEnvelope.Decode(Encoding.UTF8.GetBytes("{\"hello\":1}")));
        Assert.Throws<FormatException>(() => CloudEventEnvelope.Decode(Encoding.UTF8.GetBytes("not json")));
        Assert.Throws<FormatException>(() => CloudEventEnvelope.Decode(Encoding.UTF8.GetBytes("{\"specversion\":\"1.0\",\"id\":\"x\",\"type\":\"t\",\"source\":\"s\",\"data\":{}}")));
    }

    [GeneratedRegex(@"^streambets\.[a-z]+\.[a-z-]+\.v[0-9]+$")]
    private static partial Regex TypeName();
}
