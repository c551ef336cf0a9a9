using System.Text.Json.Serialization;

namespace StreamBets.Contracts.IntegrationEvents;

/// <summary>A player or streamer account was created. No personal data beyond the display name travels on the bus.</summary>
[IntegrationEvent("streambets.users.registered.v1", IntegrationTopics.Users)]
public sealed record UserRegistered(Guid UserId, string DisplayName, string Role, DateTimeOffset RegisteredAt) : IIntegrationEvent
{
    [JsonIgnore] public string AggregateId => UserId.ToString();
}

/// <summary>
/// The user saved their profile; <paramref name="DisplayName"/> is the name others see from now on. Services that show
/// players by name (leaderboards) keep their own copy from this and <see cref="UserRegistered"/>.
/// </summary>
[IntegrationEvent("streambets.users.profile-changed.v1", IntegrationTopics.Users)]
public sealed record UserProfileChanged(Guid UserId, string DisplayName, DateTimeOffset ChangedAt) : IIntegrationEvent
{
    [JsonIgnore] public string AggregateId => UserId.ToString();
}

/// <summary>
/// An operator changed the user's role (<paramref name="Role"/> and <paramref name="PreviousRole"/> are "player",
/// "streamer" or "admin"). Published only when the role actually changed, in the transaction that changed it. Pools takes
/// every channel linked no later than <paramref name="ChangedAt"/> from a user who can no longer run pools.
/// </summary>
[IntegrationEvent("streambets.users.role-changed.v1", IntegrationTopics.Users)]
public sealed record UserRoleChanged(Guid UserId, string Role, string PreviousRole, DateTimeOffset ChangedAt) : IIntegrationEvent
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
/// The player started a self-exclusion or lengthened one (<paramref name="Period"/> "6-months", "12-months" or
/// "indefinite"); it blocks betting and deposits until <paramref name="EndsAt"/>, or for ever when that is null.
/// A request that left the exclusion in force unchanged publishes nothing.
/// </summary>
[IntegrationEvent("streambets.users.player-self-excluded.v1", IntegrationTopics.Users)]
public sealed record PlayerSelfExcluded(Guid UserId, string Period, DateTimeOffset StartedAt, DateTimeOffset? EndsAt) : IIntegrationEvent
{
    [JsonIgnore] public string AggregateId => UserId.ToString();
}

/// <summary>
/// Ledger transfers of one committed batch changed users' wallets, up to <see cref="MaxChanges"/> per event, in ledger
/// order. One event per transfer made settling a 1,000,000-bet pool half a million outbox rows and messages, and a bet
/// rush one per stake. All wallet events share one partition key, so a consumer sees every user's changes in ledger
/// order (the ledger writes a user's later change only after the earlier one committed: both lock the wallet).
/// </summary>
[IntegrationEvent("streambets.wallet.wallets-changed.v1", IntegrationTopics.Wallet)]
public sealed record WalletsChanged(IReadOnlyList<WalletChange> Changes, DateTimeOffset OccurredAt) : IIntegrationEvent
{
    /// <summary>About 200 KB of JSON: well inside Redis Streams' and Kafka's default 1 MB message limit.</summary>
    public const int MaxChanges = 1_000;

    [JsonIgnore] public string AggregateId => "wallets";
}

/// <summary>
/// One transfer's change to one user's wallet. <paramref name="DeltaMinor"/> is signed (credit positive),
/// <paramref name="BalanceMinor"/> is the balance after the transfer; both in minor units.
/// <paramref name="Reason"/> is e.g. "deposit", "bet-stake", "payout", "refund", "withdrawal".
/// </summary>
public sealed record WalletChange(Guid UserId, Guid TransferId, long DeltaMinor, long BalanceMinor, string Reason, string? Reference);
