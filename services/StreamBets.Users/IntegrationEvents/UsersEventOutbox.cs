using Npgsql;

namespace StreamBets.Users.IntegrationEvents;

/// <summary>
/// SEAM(messaging): where the Users service hands integration events to the transactional outbox,
/// inside the same transaction as the state change. Replace <see cref="LoggingUsersEventOutbox"/>
/// with the shared outbox from the `messaging` branch once its "events+outbox API" commit lands.
/// </summary>
public interface IUsersEventOutbox
{
    Task AddAsync(object integrationEvent, NpgsqlTransaction transaction, CancellationToken cancellationToken);
}

/// <summary>Stand-in until the shared outbox exists: it only logs, so nothing is published yet.</summary>
internal sealed partial class LoggingUsersEventOutbox(ILogger<LoggingUsersEventOutbox> logger) : IUsersEventOutbox
{
    public Task AddAsync(object integrationEvent, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        LogEventNotPublished(logger, integrationEvent.GetType().Name);
        return Task.CompletedTask;
    }

    [LoggerMessage(EventId = 900, EventName = "EventNotPublished", Level = LogLevel.Debug, Message = "No outbox yet; {EventType} was not published")]
    private static partial void LogEventNotPublished(ILogger logger, string eventType);
}
