using System.Text.Json.Serialization;

namespace StreamBets.Contracts.IntegrationEvents;

/// <summary>A linked channel started streaming. Platform is "twitch", "kick" or "youtube"; the key is "platform:channelId".</summary>
[IntegrationEvent("streambets.integration.stream-went-live.v1", IntegrationTopics.Integration)]
public sealed record StreamWentLive(string Platform, string ChannelId, Guid? StreamerId, string Title, DateTimeOffset StartedAt) : IIntegrationEvent
{
    [JsonIgnore] public string AggregateId => $"{Platform}:{ChannelId}";
}

[IntegrationEvent("streambets.integration.stream-ended.v1", IntegrationTopics.Integration)]
public sealed record StreamEnded(string Platform, string ChannelId, Guid? StreamerId, DateTimeOffset EndedAt) : IIntegrationEvent
{
    [JsonIgnore] public string AggregateId => $"{Platform}:{ChannelId}";
}
