using StreamBets.BetEngine.Eligibility;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;

namespace StreamBets.BetEngine.IntegrationEvents.EventHandling;

/// <summary>
/// A self-exclusion (effective at once) or a KYC change can turn a player's "may bet" into "may not": every replica's
/// eligibility cache forgets the player (<see cref="EligibilityChanges"/>), so their next bet asks Users instead of
/// being waved through for seconds.
/// </summary>
public sealed class PlayerEligibilityHandlers(EligibilityChanges changes)
    : IIntegrationEventHandler<PlayerSelfExcluded>, IIntegrationEventHandler<KycStatusChanged>
{
    public Task HandleAsync(PlayerSelfExcluded @event, IntegrationEventContext context, CancellationToken cancellationToken) =>
        changes.AnnounceAsync(@event.UserId);

    public Task HandleAsync(KycStatusChanged @event, IntegrationEventContext context, CancellationToken cancellationToken) =>
        changes.AnnounceAsync(@event.UserId);
}
