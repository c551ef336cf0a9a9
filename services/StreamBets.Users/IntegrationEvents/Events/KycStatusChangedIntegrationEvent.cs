namespace StreamBets.Users.IntegrationEvents.Events;

/// <summary>
/// A player's KYC standing changed: a document was accepted, a check started, went to review,
/// or was approved or rejected. <see cref="Status"/> is one of <see cref="Kyc.KycStatuses"/>.
/// </summary>
public sealed record KycStatusChangedIntegrationEvent(Guid UserId, int PreviousTier, int Tier, string Status, string Reason, DateTimeOffset ChangedAt);
