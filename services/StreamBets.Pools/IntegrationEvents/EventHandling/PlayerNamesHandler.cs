using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;

namespace StreamBets.Pools.IntegrationEvents.EventHandling;

/// <summary>Keeps the display name the leaderboards show for each player, in the inbox transaction.</summary>
public sealed class PlayerNamesHandler : IIntegrationEventHandler<UserRegistered>, IIntegrationEventHandler<UserProfileChanged>
{
    public Task HandleAsync(UserRegistered @event, IntegrationEventContext context, CancellationToken cancellationToken) =>
        Leaderboards.Leaderboards.SaveNameAsync(context.Transaction, @event.UserId, @event.DisplayName, @event.RegisteredAt, cancellationToken);

    public Task HandleAsync(UserProfileChanged @event, IntegrationEventContext context, CancellationToken cancellationToken) =>
        Leaderboards.Leaderboards.SaveNameAsync(context.Transaction, @event.UserId, @event.DisplayName, @event.ChangedAt, cancellationToken);
}
