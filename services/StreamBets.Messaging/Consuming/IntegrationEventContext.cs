using Npgsql;

namespace StreamBets.Messaging;

/// <summary>The envelope of the event being handled and the transaction to do the handler's work in.</summary>
public sealed class IntegrationEventContext
{
    private readonly NpgsqlTransaction? _transaction;

    internal IntegrationEventContext(
        Guid eventId, string type, string source, DateTimeOffset time, string subject, string consumerGroup, int attempt, NpgsqlTransaction? transaction)
    {
        EventId = eventId;
        Type = type;
        Source = source;
        Time = time;
        Subject = subject;
        ConsumerGroup = consumerGroup;
        Attempt = attempt;
        _transaction = transaction;
    }

    /// <summary>CloudEvents id; the inbox key together with the consumer group.</summary>
    public Guid EventId { get; }

    public string Type { get; }

    /// <summary>The publishing service, e.g. "urn:streambets:pools".</summary>
    public string Source { get; }

    /// <summary>When the event was written to the publisher's outbox.</summary>
    public DateTimeOffset Time { get; }

    /// <summary>The aggregate id (the partition key).</summary>
    public string Subject { get; }

    public string ConsumerGroup { get; }

    /// <summary>1 for the first attempt in this process.</summary>
    public int Attempt { get; }

    /// <summary>The transaction that also records the event in the inbox; it commits when every handler of the delivery returns.</summary>
    public NpgsqlTransaction Transaction => _transaction
        ?? throw new InvalidOperationException("This event bus was registered without a database (AddEventBus(null)), so handlers get no transaction.");

    public NpgsqlConnection Connection => Transaction.Connection!;

    /// <summary>False only for a bus registered without a database (e.g. Realtime), whose handlers must be idempotent on their own.</summary>
    public bool HasTransaction => _transaction is not null;
}
