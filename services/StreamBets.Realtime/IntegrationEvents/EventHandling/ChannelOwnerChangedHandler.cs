using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;
using StreamBets.Realtime.Chat;
using StreamBets.Realtime.Live;

namespace StreamBets.Realtime.IntegrationEvents.EventHandling;

/// <summary>
/// Pools linked a channel to a streamer, moved it, or unlinked it: the owner is the channel's chat streamer (starting
/// without moderators when it is someone new), and an unlinked channel has none. Idempotent without an inbox: a change
/// at or below the version the channel keeps is old (redelivered, or overtaken) and changes nothing.
/// </summary>
public sealed partial class ChannelOwnerChangedHandler(ChatRoom chat, ILogger<ChannelOwnerChangedHandler> logger) : IIntegrationEventHandler<ChannelOwnerChanged>
{
    public async Task HandleAsync(ChannelOwnerChanged @event, IntegrationEventContext context, CancellationToken cancellationToken)
    {
        if (ChannelNames.TryNormalise(@event.Channel) is not { } channel)
        {
            LogNotAChannel(logger, @event.Channel);
            return;
        }
        if (!await chat.ChangeOwnerAsync(channel, @event.OwnerId, @event.Version))
        {
            LogOlderChange(logger, channel, @event.Version);
        }
    }

    [LoggerMessage(EventId = 31, EventName = "ChannelOwnerNotAChannel", Level = LogLevel.Warning, Message = "A channel owner change names '{Channel}', which is not a channel; ignored")]
    private static partial void LogNotAChannel(ILogger logger, string channel);

    [LoggerMessage(EventId = 32, EventName = "ChannelOwnerChangeOutdated", Level = LogLevel.Debug,
        Message = "Channel {Channel}: owner change {Version} is not newer than the one applied; ignored")]
    private static partial void LogOlderChange(ILogger logger, string channel, long version);
}
