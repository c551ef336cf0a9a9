using System.Security.Claims;
using Npgsql;
using StreamBets.Pools.Configuration;

namespace StreamBets.Pools.Management;

/// <summary>A channel linked to the streamer who may open pools on it.</summary>
public sealed record ChannelLink(Channel Channel, Guid OwnerId, Guid LinkedBy, DateTimeOffset LinkedAt);

/// <summary>
/// Which streamer owns each channel (poolsdb <c>channel_owners</c>). A channel has one owner; linking it again moves it.
/// Each link and unlink commits together with its row in <see cref="AdminChanges"/>.
/// </summary>
public sealed class ChannelOwners(NpgsqlDataSource db, AdminChanges changes, TimeProvider time)
{
    public const int MaxLinksListed = 500;

    /// <summary>Advisory lock class of one channel's links (see <see cref="LinkAsync"/>).</summary>
    private const int LinkLockClass = 7304;

    /// <summary>
    /// The channel's owner, with its row locked until <paramref name="transaction"/> ends: a link or unlink that would
    /// move the channel waits for the transaction, or the transaction waits for it and reads the new owner.
    /// </summary>
    public async Task<Guid?> OwnerOfAsync(NpgsqlTransaction transaction, Channel channel, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT owner_id FROM channel_owners WHERE channel = $1 FOR SHARE", transaction.Connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = channel.ToString() });
        return await command.ExecuteScalarAsync(cancellationToken) is Guid owner ? owner : null;
    }

    /// <summary>Links the channel to the owner; answers the link and who had the channel before, if anyone.</summary>
    public async Task<(ChannelLink Link, Guid? PreviousOwnerId)> LinkAsync(Channel channel, Guid ownerId, ClaimsPrincipal admin, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        // PostgreSQL keeps microseconds: the answer to a link equals what a later read returns.
        var link = new ChannelLink(channel, ownerId, admin.GetUserId(), now.AddTicks(-(now.Ticks % TimeSpan.TicksPerMicrosecond)));

        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // One link of a channel at a time. The upsert's snapshot cannot see a row that another link inserted meanwhile,
        // so of two first links at once the later found no previous owner and hid that it took the channel.
        await using (var serialize = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1, hashtext($2))", connection, transaction))
        {
            serialize.Parameters.Add(new NpgsqlParameter<int> { TypedValue = LinkLockClass });
            serialize.Parameters.Add(new NpgsqlParameter<string> { TypedValue = channel.ToString() });
            await serialize.ExecuteNonQueryAsync(cancellationToken);
        }
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
        // Locked, so a link moving the channel waits for this unlink (or this one sees the link's new owner).
        await using var read = new NpgsqlCommand("SELECT owner_id FROM channel_owners WHERE channel = $1 FOR UPDATE", connection, transaction);
        read.Parameters.Add(new NpgsqlParameter<string> { TypedValue = channel.ToString() });
        var owner = await read.ExecuteScalarAsync(cancellationToken) as Guid?;
        if (owner != expectedOwnerId)
        {
            return owner;
        }
        await using var delete = new NpgsqlCommand("DELETE FROM channel_owners WHERE channel = $1", connection, transaction);
        delete.Parameters.Add(new NpgsqlParameter<string> { TypedValue = channel.ToString() });
        await delete.ExecuteNonQueryAsync(cancellationToken);
        // The record names who lost the channel: the row is gone, so only the history can say whose it was.
        await changes.RecordAsync(transaction, admin, AdminChanges.ChannelUnlinked, channel.ToString(), new { ownerId = expectedOwnerId }, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return expectedOwnerId;
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
