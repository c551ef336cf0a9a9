using System.Text;
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
        var decoded = envelope.Data.Deserialize<PoolResolved>(CloudEventEnvelope.SerializerOptions)!;
        Assert.Equal(@event.WinningOutcomeIds, decoded.WinningOutcomeIds);
        Assert.Equal(@event.PoolId, decoded.PoolId);
    }

    [Fact]
    public void Bytes_that_are_not_a_CloudEvent_are_rejected_as_unreadable()
    {
        Assert.Throws<FormatException>(() => CloudEventEnvelope.Decode(Encoding.UTF8.GetBytes("{\"hello\":1}")));
        Assert.Throws<FormatException>(() => CloudEventEnvelope.Decode(Encoding.UTF8.GetBytes("not json")));
    }

    [GeneratedRegex(@"^streambets\.[a-z]+\.[a-z-]+\.v[0-9]+$")]
    private static partial Regex TypeName();
}
