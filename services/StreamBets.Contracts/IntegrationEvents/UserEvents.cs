using System.Text.Json.Serialization;

namespace StreamBets.Contracts.IntegrationEvents;

/// <summary>A player or streamer account was created. No personal data beyond the display name travels on the bus.</summary>
[IntegrationEvent("streambets.users.registered.v1", IntegrationTopics.Users)]
public sealed record UserRegistered(Guid UserId, string DisplayName, string Role, DateTimeOffset RegisteredAt) : IIntegrationEvent
{
    [JsonIgnore] public string AggregateId => UserId.ToString();
}

/// <summary>The user's identity verification moved to a new status (e.g. "pending", "verified", "rejected") and tier.</summary>
[IntegrationEvent("streambets.users.kyc-status-changed.v1", IntegrationTopics.Users)]
public sealed record KycStatusChanged(Guid UserId, string Status, int Tier, string? Reason, DateTimeOffset ChangedAt) : IIntegrationEvent
{
    [JsonIgnore] public string AggregateId => UserId.ToString();
}

/// <summary>
/// A ledger transfer changed a user's wallet. <paramref name="DeltaMinor"/> is signed (credit positive),
/// <paramref name="BalanceMinor"/> is the balance after the transfer; both in minor units.
/// <paramref name="Reason"/> is e.g. "deposit", "bet-stake", "payout", "refund", "withdrawal".
/// </summary>
[IntegrationEvent("streambets.wallet.changed.v1", IntegrationTopics.Wallet)]
public sealed record WalletChanged(
    Guid UserId, Guid TransferId, long DeltaMinor, long BalanceMinor, string Reason, string? Reference, DateTimeOffset OccurredAt) : IIntegrationEvent
{
    [JsonIgnore] public string AggregateId => UserId.ToString();
}
