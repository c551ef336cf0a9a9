using System.Data.Common;
using Npgsql;
using StreamBets.Contracts.IntegrationEvents;

namespace StreamBets.Messaging;

/// <summary>
/// Writes integration events into the service's <c>outbox</c> table inside the caller's own transaction, so an event
/// exists if and only if the state change that caused it committed. The relay publishes it after the commit.
/// </summary>
/// <example>
/// Raw Npgsql: <c>await outbox.AddAsync(transaction, new WalletsChanged(...), ct);</c><br/>
/// EF Core: <c>await outbox.AddAsync(db.Database.CurrentTransaction!.GetDbTransaction(), @event, ct);</c>
/// </example>
public interface IOutbox
{
    /// <param name="transaction">An open <c>NpgsqlTransaction</c> on the service database (EF Core's <c>GetDbTransaction()</c> is one).</param>
    Task AddAsync(DbTransaction transaction, IIntegrationEvent @event, CancellationToken cancellationToken = default);

    /// <summary>Writes many events in one round trip (one multi-row INSERT), in the order given.</summary>
    Task AddRangeAsync(DbTransaction transaction, IReadOnlyCollection<IIntegrationEvent> events, CancellationToken cancellationToken = default);

    /// <summary>
    /// The statements that write these events, in the order given, for the caller to append at the END of a batch it
    /// runs in its own transaction: the events then cost no round trip of their own. An error of these statements
    /// surfaces from that batch's reader, at the latest when it is disposed, so before the caller commits.
    /// Empty when there are no events.
    /// </summary>
    IReadOnlyList<NpgsqlBatchCommand> CommandsFor(IReadOnlyCollection<IIntegrationEvent> events);
}
