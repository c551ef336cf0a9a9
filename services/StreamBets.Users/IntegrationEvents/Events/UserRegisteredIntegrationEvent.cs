namespace StreamBets.Users.IntegrationEvents.Events;

/// <summary>A new account exists. Carries no email or document: consumers needing them ask GetUser.</summary>
public sealed record UserRegisteredIntegrationEvent(Guid UserId, string DisplayName, string Country, string Role, int KycTier, DateTimeOffset RegisteredAt);
