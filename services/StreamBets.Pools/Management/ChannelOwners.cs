using Npgsql;

namespace StreamBets.Pools.Management;

/// <summary>A channel linked to the streamer who may open pools on it.</summary>
public sealed record ChannelLink(Channel Channel, Guid OwnerId, Guid LinkedBy, DateTimeOffset LinkedAt);

/// <summary>
/// Which streamer owns each channel (poolsdb <c>channel_owners</c>). A channel has one owner; linking it again moves it.
/// </summary>
public sealed class ChannelOwners(NpgsqlDataSource db, TimeProvider time)
{
    public const int MaxLinksListed = 500;

    public async Task<Guid?> OwnerOfAsync(Channel channel, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("SELECT owner_id FROM channel_owners WHERE channel = $1");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = channel.ToString() });
        return await command.ExecuteScalarAsync(cancellationToken) is Guid owner ? owner : null;
    }

    public async Task<ChannelLink> LinkAsync(Channel channel, Guid ownerId, Guid linkedBy, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        // PostgreSQL keeps microseconds: the answer to a link equals what a later read returns.
        var link = new ChannelLink(channel, ownerId, linkedBy, now.AddTicks(-(now.Ticks % TimeSpan.TicksPerMicrosecond)));
        await using var command = db.CreateCommand("""
            INSERT INTO channel_owners (channel, owner_id, linked_by, linked_at) VALUES ($1, $2, $3, $4)
            ON CONFLICT (channel) DO UPDATE SET owner_id = EXCLUDED.owner_id, linked_by = EXCLUDED.linked_by, linked_at = EXCLUDED.linked_at
            """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = channel.ToString() });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = ownerId });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = linkedBy });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = link.LinkedAt });
        await command.ExecuteNonQueryAsync(cancellationToken);
        return link;
    }

    /// <summary>False when the channel was not linked.</summary>
    public async Task<bool> UnlinkAsync(Channel channel, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("DELETE FROM channel_owners WHERE channel = $1");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = channel.ToString() });
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
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
