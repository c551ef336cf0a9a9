using Microsoft.AspNetCore.SignalR;
using StreamBets.Realtime.Hubs;

namespace StreamBets.Realtime.Live;

/// <summary>
/// Numbers a message on its stream, keeps it for replay, and pushes it to the stream's group through the hub context.
/// With the Redis backplane that push reaches the group's members on every replica, which matters because the bus
/// delivers each event to one replica only.
/// </summary>
public sealed partial class LivePublisher(LiveStreamStore store, IHubContext<LiveHub> hub, ILogger<LivePublisher> logger)
{
    // Numbering and pushing happen under one lock per stream (striped), so this process sends a stream's messages in
    // sequence order. Replicas can still interleave; clients fill such gaps with CatchUp.
    private readonly SemaphoreSlim[] _stripes = [.. Enumerable.Range(0, 64).Select(_ => new SemaphoreSlim(1, 1))];

    /// <summary>Publishes an event's message; null when this event was already pushed on the stream (a redelivery).</summary>
    public Task<T?> PublishAsync<T>(LiveStream stream, T message, Guid? eventId, CancellationToken cancellationToken) where T : LiveMessage =>
        PublishAsync(stream, message, numbered => store.AppendAsync(stream, numbered, eventId), cancellationToken);

    /// <summary>Publishes with a custom append (chat checks its limits in the same script); <paramref name="append"/> answers 0 to skip the push.</summary>
    public async Task<T?> PublishAsync<T>(LiveStream stream, T message, Func<T, Task<long>> append, CancellationToken cancellationToken) where T : LiveMessage
    {
        var onStream = (T)((LiveMessage)message with { Stream = stream.Name });
        var stripe = _stripes[(uint)StringComparer.Ordinal.GetHashCode(stream.Group) % (uint)_stripes.Length];
        await stripe.WaitAsync(cancellationToken);
        try
        {
            var sequence = await append(onStream);
            if (sequence == 0)
            {
                LogAlreadyPushed(logger, onStream.Event, stream.Name);
                return null;
            }
            var numbered = (T)((LiveMessage)onStream with { Sequence = sequence });
            await hub.Clients.Group(stream.Group).SendAsync(numbered.Event, numbered, cancellationToken);
            return numbered;
        }
        finally
        {
            stripe.Release();
        }
    }

    [LoggerMessage(EventId = 1, EventName = "AlreadyPushed", Level = LogLevel.Debug, Message = "{Event} on {Stream} was already pushed; a redelivery is skipped")]
    private static partial void LogAlreadyPushed(ILogger logger, string @event, string stream);
}
