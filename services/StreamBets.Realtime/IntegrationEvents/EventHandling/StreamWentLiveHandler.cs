using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;
using StreamBets.Realtime.Chat;
using StreamBets.Realtime.Live;

namespace StreamBets.Realtime.IntegrationEvents.EventHandling;

/// <summary>
/// A linked channel going live names its owner: that user is the channel's streamer in chat, whoever created pools on
/// it, unless Pools has named the owner (ChannelOwnerChanged): Pools' links are the authority, and this event, on
/// another topic, comes in no order with them.
/// </summary>
public sealed class StreamWentLiveHandler(ChatRoom chat) : IIntegrationEventHandler<StreamWentLive>
{
    public async Task HandleAsync(StreamWentLive @event, IntegrationEventContext context, CancellationToken cancellationToken)
    {
        if (@event.StreamerId is { } streamerId && ChannelNames.TryNormalise($"{@event.Platform}:{@event.ChannelId}") is { } channel)
        {
            await chat.SetStreamerAsync(channel, streamerId);
        }
    }
}
