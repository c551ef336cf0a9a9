using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;
using StreamBets.Pools.Apis;
using StreamBets.Pools.Management;
using Roles = Microsoft.Extensions.Hosting.AuthenticationDefaults.Roles;

namespace StreamBets.Pools.IntegrationEvents.EventHandling;

/// <summary>
/// Takes every channel from an account that lost the role that runs pools, in the inbox transaction. Realtime gives chat
/// streamer powers from the channel link alone, so a streamer demoted for rigging otherwise kept moderating their chat
/// and owning their open pools. A promotion back links nothing: an operator links the channels again.
/// </summary>
public sealed partial class DemotedStreamerChannelsHandler(ChannelOwners owners, ILoggerFactory loggers) : IIntegrationEventHandler<UserRoleChanged>
{
    /// <summary>
    /// ChangedAt is stamped by Users' clock and linked_at by Pools': a link made just before the demotion must not pass
    /// for a later one because Pools' clock runs a little ahead. Only a relink more than this after the change survives.
    /// </summary>
    public static readonly TimeSpan ClockSkewAllowance = TimeSpan.FromSeconds(5);

    private readonly ILogger _audit = loggers.CreateLogger(PoolsAdminApi.AuditCategory);

    public async Task HandleAsync(UserRoleChanged @event, IntegrationEventContext context, CancellationToken cancellationToken)
    {
        if (@event.Role is Roles.Streamer or Roles.Admin)
        {
            return;
        }
        // Nothing left to take on a redelivery; a link made well after the change is the operator's later decision and stays.
        var unlinked = await owners.UnlinkAllOnRoleChangeAsync(
            context.Transaction, @event.UserId, @event.Role, @event.ChangedAt + ClockSkewAllowance, cancellationToken);
        foreach (var channel in unlinked)
        {
            LogUnlinked(_audit, channel.ToString(), @event.UserId, @event.Role);
        }
    }

    [LoggerMessage(EventId = 6006, EventName = "ChannelUnlinkedOnRoleChange", Level = LogLevel.Information,
        Message = "Channel {Channel} unlinked from {OwnerId}: their role changed to {Role}")]
    private static partial void LogUnlinked(ILogger logger, string channel, Guid ownerId, string role);
}
