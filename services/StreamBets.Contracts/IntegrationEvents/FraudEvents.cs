using System.Text.Json.Serialization;

namespace StreamBets.Contracts.IntegrationEvents;

/// <summary>Analytics flagged suspicious activity. Severity is "low", "medium" or "high"; Rule names the detector.</summary>
[IntegrationEvent("streambets.fraud.alert-raised.v1", IntegrationTopics.Fraud)]
public sealed record FraudAlertRaised(Guid AlertId, Guid UserId, string Rule, string Severity, string Detail, DateTimeOffset RaisedAt) : IIntegrationEvent
{
    [JsonIgnore] public string AggregateId => UserId.ToString();
}
