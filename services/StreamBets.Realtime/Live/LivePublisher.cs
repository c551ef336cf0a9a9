using Microsoft.AspNetCore.SignalR;
using StreamBets.Realtime.Hubs;

namespace StreamBets.Realtime.Live;

/// <summary>
/// Numbers a message on its stream, keeps it for replay, and pushes it to the stream's group through the hub context.
/// With the Redis backplane that push reaches the group's members on every replica, which matters because the bus
/// delivers each event to one replica only.
/// </summary>
public sealed class LivePublisher(LiveStreamStore store, IHubContext<LiveHub> hub)
{
    // Numbering and pushing happen under one lock per stream (striped), so this process sends a stream's messages in
    // sequence order. Replicas can still interleave; clients fill such gaps with CatchUp.
    private readonly SemaphoreSlim[] _stripes = [.. Enumerable.Range(0, 64).Select(_ => new SemaphoreSlim(1, 1))];

    /// <summary>
    /// Publishes an event's message; null when the event was pushed on the stream already (a redelivery). A redelivery
    /// whose first push is not known to have gone out (the handler threw after numbering, so the bus delivers it again)
    /// is pushed again under its first number: clients that saw it drop it, and the message is built from the event
    /// again, so it carries the same payload. One whose push went out is not, since a client that connected since and
    /// read its state over REST would apply the old message as news. Nor is one with a <paramref name="version"/> the
    /// stream has pushed its entity at (or past), once its id is forgotten.
    /// </summary>
    public async Task<T?> PublishAsync<T>(LiveStream stream, T message, Guid? eventId, CancellationToken cancellationToken, EntityVersion? version = null)
        where T : LiveMessage
    {
        var pushed = await TryPublishAsync(stream, message, numbered => store.AppendAsync(stream, numbered, eventId, version), cancellationToken);
        if (pushed is not null && eventId is { } id)
        {
            store.MarkPushed(stream, id, pushed.Sequence);
        }
        return pushed;
    }

    /// <summary>Publishes with a custom append (chat checks its limits in the same script), which answers the message's sequence.</summary>
    public async Task<T> PublishAsync<T>(LiveStream stream, T message, Func<T, Task<long>> append, CancellationToken cancellationToken) where T : LiveMessage =>
        (await TryPublishAsync(stream, message, async onStream => (long?)await append(onStream), cancellationToken))!;

    /// <summary>
    /// Publishes pool odds unless odds with as much staked were pushed already, by any replica; null then. Odds whose push
    /// failed after numbering are pushed again under their first number when offered again.
    /// </summary>
    public async Task<OddsChangedMessage?> PublishOddsAsync(OddsChangedMessage odds, CancellationToken cancellationToken)
    {
        var stream = LiveStream.Pool(odds.PoolId);
        var pushed = await TryPublishAsync(stream, odds, onStream => store.AppendOddsAsync(stream, onStream), cancellationToken);
        if (pushed is not null)
        {
            store.MarkOddsPushed(stream, pushed);
        }
        return pushed;
    }

    /// <summary>Numbers the message with <paramref name="append"/> and pushes it; nothing is pushed when the append answers null.</summary>
    private async Task<T?> TryPublishAsync<T>(LiveStream stream, T message, Func<T, Task<long?>> append, CancellationToken cancellationToken) where T : LiveMessage
    {
        var onStream = (T)((LiveMessage)message with { Stream = stream.Name });
        var stripe = _stripes[(uint)StringComparer.Ordinal.GetHashCode(stream.Group) % (uint)_stripes.Length];
        await stripe.WaitAsync(cancellationToken);
        try
        {
            if (await append(onStream) is not { } sequence)
            {
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
}
