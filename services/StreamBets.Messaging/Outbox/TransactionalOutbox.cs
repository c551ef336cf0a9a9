using System.Data.Common;
using System.Diagnostics;
using Npgsql;
using NpgsqlTypes;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging.Envelope;

namespace StreamBets.Messaging.Outbox;

internal sealed class TransactionalOutbox(EventBusIdentity identity, OutboxRelayOptions relayOptions, TimeProvider time) : IOutbox
{
    /// <summary>The channel the relay LISTENs on; NOTIFY is transactional, so it fires on commit and never on rollback.</summary>
    public const string NotifyChannel = "streambets_outbox";

    // WITH ORDINALITY + ORDER BY keeps the caller's order in the identity column, which is the publish order.
    private const string InsertSql = """
        INSERT INTO outbox (event_id, topic, partition_key, event_type, envelope, created_at)
        SELECT e.event_id, e.topic, e.partition_key, e.event_type, e.envelope, e.created_at
        FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::json[], $6::timestamptz[])
             WITH ORDINALITY AS e(event_id, topic, partition_key, event_type, envelope, created_at, n)
        ORDER BY e.n
        """;

    private long _lastNotify = long.MinValue / 2;

    public Task AddAsync(DbTransaction transaction, IIntegrationEvent @event, CancellationToken cancellationToken = default) =>
        AddRangeAsync(transaction, [@event], cancellationToken);

    public async Task AddRangeAsync(DbTransaction transaction, IReadOnlyCollection<IIntegrationEvent> events, CancellationToken cancellationToken = default)
    {
        if (transaction is not NpgsqlTransaction { Connection: { } connection } npgsqlTransaction)
        {
            throw new ArgumentException("The outbox needs an open NpgsqlTransaction on the service database.", nameof(transaction));
        }
        if (events.Count == 0)
        {
            return;
        }

        await using var batch = new NpgsqlBatch(connection, npgsqlTransaction);
        foreach (var command in CommandsFor(events))
        {
            batch.BatchCommands.Add(command);
        }
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    public IReadOnlyList<NpgsqlBatchCommand> CommandsFor(IReadOnlyCollection<IIntegrationEvent> events)
    {
        if (events.Count == 0)
        {
            return [];
        }

        var count = events.Count;
        var ids = new Guid[count];
        var topics = new string[count];
        var keys = new string[count];
        var types = new string[count];
        var envelopes = new string[count];
        var createdAt = new DateTimeOffset[count];
        var now = time.GetUtcNow();
        var i = 0;
        foreach (var @event in events)
        {
            var metadata = IntegrationEventMetadata.Of(@event.GetType());
            var id = Guid.CreateVersion7(now);

            // The producer span: its context travels in the envelope, so the consumer's span joins this trace.
            using var activity = MessagingTelemetry.Source.StartActivity($"{metadata.Topic} publish", ActivityKind.Producer);
            if (activity is not null)
            {
                MessagingTelemetry.SetMessagingTags(activity, "outbox", metadata.Topic, metadata.Type, id);
            }
            var context = activity ?? Activity.Current;

            ids[i] = id;
            topics[i] = metadata.Topic;
            keys[i] = @event.AggregateId;
            types[i] = metadata.Type;
            envelopes[i] = System.Text.Encoding.UTF8.GetString(
                CloudEventEnvelope.Encode(@event, id, metadata.Type, identity.Source, now, context?.Id, context?.TraceStateString));
            createdAt[i] = now;
            i++;
        }

        var insert = new NpgsqlBatchCommand(InsertSql);
        insert.Parameters.Add(new NpgsqlParameter { Value = ids, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Uuid });
        insert.Parameters.Add(new NpgsqlParameter { Value = topics, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        insert.Parameters.Add(new NpgsqlParameter { Value = keys, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        insert.Parameters.Add(new NpgsqlParameter { Value = types, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        insert.Parameters.Add(new NpgsqlParameter { Value = envelopes, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Json });
        insert.Parameters.Add(new NpgsqlParameter { Value = createdAt, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        return relayOptions.NotifyOnCommit && NotifyDue()
            ? [insert, new NpgsqlBatchCommand($"SELECT pg_notify('{NotifyChannel}', '')")]
            : [insert];
    }

    /// <summary>True for at most one write per <see cref="OutboxRelayOptions.NotifyDebounce"/>.</summary>
    private bool NotifyDue()
    {
        var now = time.GetTimestamp();
        var last = Interlocked.Read(ref _lastNotify);
        return time.GetElapsedTime(last, now) >= relayOptions.NotifyDebounce
            && Interlocked.CompareExchange(ref _lastNotify, now, last) == last;
    }
}
