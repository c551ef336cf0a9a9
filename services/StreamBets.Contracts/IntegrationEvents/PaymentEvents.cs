using System.Text.Json.Serialization;

namespace StreamBets.Contracts.IntegrationEvents;

/// <summary>The PSP confirmed a deposit and the wallet was credited. Keyed by user, so a user's money events keep their order.</summary>
[IntegrationEvent("streambets.payments.deposit-succeeded.v1", IntegrationTopics.Payments)]
public sealed record DepositSucceeded(Guid DepositId, Guid UserId, long AmountMinor, string Provider, string ProviderReference, DateTimeOffset SucceededAt) : IIntegrationEvent
{
    [JsonIgnore] public string AggregateId => UserId.ToString();
}

/// <summary>A player asked to withdraw; the amount is held until the withdrawal completes or is rejected.</summary>
[IntegrationEvent("streambets.payments.withdrawal-requested.v1", IntegrationTopics.Payments)]
public sealed record WithdrawalRequested(Guid WithdrawalId, Guid UserId, long AmountMinor, DateTimeOffset RequestedAt) : IIntegrationEvent
{
    [JsonIgnore] public string AggregateId => UserId.ToString();
}

/// <summary>The withdrawal ended. <paramref name="Status"/> is "paid" or "rejected" (then the hold is released).</summary>
[IntegrationEvent("streambets.payments.withdrawal-completed.v1", IntegrationTopics.Payments)]
public sealed record WithdrawalCompleted(Guid WithdrawalId, Guid UserId, long AmountMinor, string Status, string? Reason, DateTimeOffset CompletedAt) : IIntegrationEvent
{
    [JsonIgnore] public string AggregateId => UserId.ToString();
}
