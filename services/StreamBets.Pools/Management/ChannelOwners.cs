using System.Security.Claims;
using Npgsql;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;
using StreamBets.Pools.Configuration;

namespace StreamBets.Pools.Management;

/// <summary>A channel linked to the streamer who may open pools on it.</summary>
public sealed record ChannelLink(Channel Channel, Guid OwnerId, Guid LinkedBy, DateTimeOffset LinkedAt);

/// <summary>
/// Which streamer owns each channel (poolsdb <c>channel_owners</c>). A channel has one owner; linking it again moves it.
/// Each link and unlink commits together with its row in <see cref="AdminChanges"/> and its <see cref="ChannelOwnerChanged"/>
/// in the outbox, so Realtime's chat follows the owner (docs/realtime.md).
/// </summary>
public sealed class ChannelOwners(NpgsqlDataSource db, AdminChanges changes, IOutbox outbox, TimeProvider time)
{
    public const int MaxLinksListed = 500;

    /// <summary>Advisory lock class of one channel's links and unlinks (see <see cref="ChangeOneAtATimeAsync"/>).</summary>
    private const int LinkLockClass = 7304;

    private const string SelectOwner = "SELECT owner_id FROM channel_owners WHERE channel = $1";

    /// <summary>
    /// The channel's owner, with its row locked until <paramref name="transaction"/> ends: a link or unlink that would
    /// move the channel waits for the transaction, or the transaction waits for it and reads the new owner.
    /// </summary>
    public async Task<Guid?> OwnerOfAsync(NpgsqlTransaction transaction, Channel channel, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(SelectOwner + " FOR SHARE", transaction.Connection, transaction);
        return await ReadOwnerAsync(command, channel, cancellationToken);
    }

    /// <summary>
    /// The channel's owner as of now, without a lock: for answers that report who runs the channel's pools (GetPool).
    /// A decision that must still hold when its change commits takes the transaction's overload instead.
    /// </summary>
    public async Task<Guid?> OwnerOfAsync(Channel channel, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand(SelectOwner);
        return await ReadOwnerAsync(command, channel, cancellationToken);
    }

    private static async Task<Guid?> ReadOwnerAsync(NpgsqlCommand command, Channel channel, CancellationToken cancellationToken)
    {
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = channel.ToString() });
        return await command.ExecuteScalarAsync(cancellationToken) is Guid owner ? owner : null;
    }

    /// <summary>Links the channel to the owner; answers the link and who had the channel before, if anyone.</summary>
    public async Task<(ChannelLink Link, Guid? PreviousOwnerId)> LinkAsync(Channel channel, Guid ownerId, ClaimsPrincipal admin, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // The upsert's snapshot cannot see a row that another link inserted meanwhile, so without this, of two first
        // links at once the later found no previous owner and hid that it took the channel.
        await ChangeOneAtATimeAsync(transaction, channel, cancellationToken);
        var link = new ChannelLink(channel, ownerId, admin.GetUserId(), Now());
        // The previous owner as the upsert replaced it: the old row's value, read under the upsert's lock.
        await using var command = new NpgsqlCommand("""
            WITH previous AS (SELECT owner_id FROM channel_owners WHERE channel = $1 FOR UPDATE),
            linked AS (
                INSERT INTO channel_owners (channel, owner_id, linked_by, linked_at) VALUES ($1, $2, $3, $4)
                ON CONFLICT (channel) DO UPDATE SET owner_id = EXCLUDED.owner_id, linked_by = EXCLUDED.linked_by, linked_at = EXCLUDED.linked_at)
            SELECT owner_id FROM previous
            """, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = channel.ToString() });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = ownerId });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = link.LinkedBy });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = link.LinkedAt });
        var previous = await command.ExecuteScalarAsync(cancellationToken) as Guid?;
        await changes.RecordAsync(transaction, admin, AdminChanges.ChannelLinked, channel.ToString(), new { ownerId, PreviousOwnerId = previous }, cancellationToken);
        await PublishChangeAsync(transaction, channel, ownerId, previous, link.LinkedAt, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return (link, previous);
    }

    /// <summary>
    /// Unlinks the channel from <paramref name="expectedOwnerId"/>, the owner the admin saw. Answers who owned it: null
    /// when no one did, another owner when it moved meanwhile; in both cases nothing is unlinked or recorded.
    /// </summary>
    public async Task<Guid?> UnlinkAsync(Channel channel, Guid expectedOwnerId, ClaimsPrincipal admin, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var owner = await UnlinkAsync(transaction, channel, expectedOwnerId, linkedNoLaterThan: null,
            admin.GetUserId(), AdminChanges.NameOf(admin), new { ownerId = expectedOwnerId }, cancellationToken);
        if (owner == expectedOwnerId)
        {
            await transaction.CommitAsync(cancellationToken);
        }
        return owner;
    }

    /// <summary>
    /// Unlinks, in <paramref name="transaction"/> (the inbox's), every channel linked to <paramref name="ownerId"/> no later
    /// than <paramref name="roleChangedAt"/>, as an operator's unlink does, recorded as the system's: the account lost the
    /// role that runs pools. A link made after the change (the account promoted again and relinked) is kept, so a late
    /// or repeated event takes nothing it should not. Answers the channels unlinked.
    /// </summary>
    public async Task<IReadOnlyList<Channel>> UnlinkAllOnRoleChangeAsync(
        NpgsqlTransaction transaction, Guid ownerId, string role, DateTimeOffset roleChangedAt, CancellationToken cancellationToken)
    {
        // By name, so two transactions unlinking the same channels take their locks in one order.
        await using var command = new NpgsqlCommand(
            "SELECT channel FROM channel_owners WHERE owner_id = $1 AND linked_at <= $2 ORDER BY channel", transaction.Connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = ownerId });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = roleChangedAt });
        var linked = new List<Channel>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                linked.Add(Channel.TryParse(reader.GetString(0))!);
            }
        }

        var unlinked = new List<Channel>();
        var details = new { ownerId, reason = $"role changed to {role}" };
        foreach (var channel in linked)
        {
            if (await UnlinkAsync(transaction, channel, ownerId, roleChangedAt, SystemActorId, SystemActorName, details, cancellationToken) == ownerId)
            {
                unlinked.Add(channel);
            }
        }
        return unlinked;
    }

    /// <summary>Who the history names for a change no admin made (an unlink that followed a role change).</summary>
    public static readonly Guid SystemActorId = Guid.Empty;
    public const string SystemActorName = "system";

    /// <summary>
    /// The one unlink, in <paramref name="transaction"/>: takes the channel from <paramref name="expectedOwnerId"/> if it
    /// is theirs (and, given <paramref name="linkedNoLaterThan"/>, linked no later than that), records it and publishes
    /// the change. Answers <paramref name="expectedOwnerId"/> when it took the channel; otherwise the other owner found,
    /// or null (not linked, or linked to them after the limit), and nothing is written.
    /// </summary>
    private async Task<Guid?> UnlinkAsync(
        NpgsqlTransaction transaction, Channel channel, Guid expectedOwnerId, DateTimeOffset? linkedNoLaterThan, Guid actorId, string actorName,
        object details, CancellationToken cancellationToken)
    {
        await ChangeOneAtATimeAsync(transaction, channel, cancellationToken);
        // Locked, so a streamer's pool being opened commits before the channel leaves them (PoolCommands reads it FOR SHARE).
        await using var read = new NpgsqlCommand("SELECT owner_id, linked_at FROM channel_owners WHERE channel = $1 FOR UPDATE", transaction.Connection, transaction);
        read.Parameters.Add(new NpgsqlParameter<string> { TypedValue = channel.ToString() });
        Guid? owner = null;
        var linkedAt = DateTimeOffset.MinValue;
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
        {
            if (await reader.ReadAsync(cancellationToken))
            {
                (owner, linkedAt) = (reader.GetGuid(0), reader.GetFieldValue<DateTimeOffset>(1));
            }
        }
        if (owner != expectedOwnerId)
        {
            return owner;
        }
        if (linkedAt > linkedNoLaterThan)
        {
            // Linked to them again since (read under the lock): not the link the caller meant to take.
            return null;
        }
        await using var delete = new NpgsqlCommand("DELETE FROM channel_owners WHERE channel = $1", transaction.Connection, transaction);
        delete.Parameters.Add(new NpgsqlParameter<string> { TypedValue = channel.ToString() });
        await delete.ExecuteNonQueryAsync(cancellationToken);
        // The record names who lost the channel: the row is gone, so only the history can say whose it was.
        await changes.RecordAsync(transaction, actorId, actorName, AdminChanges.ChannelUnlinked, channel.ToString(), details, cancellationToken);
        await PublishChangeAsync(transaction, channel, ownerId: null, previousOwnerId: expectedOwnerId, Now(), cancellationToken);
        return expectedOwnerId;
    }

    /// <summary>
    /// One link or unlink of a channel at a time, until <paramref name="transaction"/> ends. A channel's changes thus
    /// commit in the order they write their history rows and events: the outbox keeps one channel's events in order,
    /// and each change's version (<see cref="PublishChangeAsync"/>) is above the one before.
    /// </summary>
    private static async Task ChangeOneAtATimeAsync(NpgsqlTransaction transaction, Channel channel, CancellationToken cancellationToken)
    {
        await using var serialize = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1, hashtext($2))", transaction.Connection, transaction);
        serialize.Parameters.Add(new NpgsqlParameter<int> { TypedValue = LinkLockClass });
        serialize.Parameters.Add(new NpgsqlParameter<string> { TypedValue = channel.ToString() });
        await serialize.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Writes the change to the outbox in its transaction. Its version is the id of the history row just recorded: the ids
    /// come from one sequence and the channel's changes run one at a time, so a later change has a higher version
    /// whatever the replicas' clocks, and a consumer can tell a late older change from a newer one.
    /// </summary>
    private async Task PublishChangeAsync(
        NpgsqlTransaction transaction, Channel channel, Guid? ownerId, Guid? previousOwnerId, DateTimeOffset changedAt, CancellationToken cancellationToken)
    {
        await using var recorded = new NpgsqlCommand("SELECT currval(pg_get_serial_sequence('admin_changes', 'id'))", transaction.Connection, transaction);
        var version = (long)(await recorded.ExecuteScalarAsync(cancellationToken))!;
        await outbox.AddAsync(transaction, new ChannelOwnerChanged(channel.ToString(), ownerId, previousOwnerId, version, changedAt), cancellationToken);
    }

    /// <summary>The clock at PostgreSQL's precision (microseconds): the answer to a link equals what a later read returns.</summary>
    private DateTimeOffset Now()
    {
        var now = time.GetUtcNow();
        return now.AddTicks(-(now.Ticks % TimeSpan.TicksPerMicrosecond));
    }

    /// <summary>The channel's link as of now, or null when no one has it.</summary>
    public async Task<ChannelLink?> LinkOfAsync(Channel channel, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("SELECT owner_id, linked_by, linked_at FROM channel_owners WHERE channel = $1");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = channel.ToString() });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new ChannelLink(channel, reader.GetGuid(0), reader.GetGuid(1), reader.GetFieldValue<DateTimeOffset>(2))
            : null;
    }

    /// <summary>The owner's channels, by name.</summary>
    public async Task<IReadOnlyList<ChannelLink>> OfOwnerAsync(Guid ownerId, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand(
            "SELECT channel, owner_id, linked_by, linked_at FROM channel_owners WHERE owner_id = $1 ORDER BY channel LIMIT $2");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = ownerId });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = MaxLinksListed });
        var links = new List<ChannelLink>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            links.Add(new ChannelLink(Channel.TryParse(reader.GetString(0))!, reader.GetGuid(1), reader.GetGuid(2), reader.GetFieldValue<DateTimeOffset>(3)));
        }
        return links;
    }
}
