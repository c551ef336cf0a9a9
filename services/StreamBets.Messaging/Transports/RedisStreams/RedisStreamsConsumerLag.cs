using StackExchange.Redis;

namespace StreamBets.Messaging.Transports.RedisStreams;

/// <summary>The group's lag on each topic: per partition stream, XINFO GROUPS' <c>lag</c> (entries not yet delivered) plus <c>pending</c> (delivered, not acknowledged).</summary>
internal sealed class RedisStreamsConsumerLag(IConnectionMultiplexer redis, EventBusOptions busOptions, EventBusIdentity identity) : IConsumerLagSource
{
    private readonly RedisStreamNames _names = new(busOptions.RedisStreams);

    public async Task<IReadOnlyDictionary<string, long>> SampleAsync(IReadOnlyCollection<string> topics, CancellationToken cancellationToken)
    {
        var database = redis.GetDatabase();
        var lag = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var topic in topics)
        {
            var partitions = await Task.WhenAll(Enumerable.Range(0, busOptions.RedisStreams.PartitionsPerTopic)
                .Select(p => UnappliedAsync(database, _names.Stream(topic, p))));
            lag[topic] = partitions.Sum();
        }
        return lag;
    }

    private async Task<long> UnappliedAsync(IDatabase database, string stream)
    {
        StreamGroupInfo[] groups;
        try
        {
            groups = await database.StreamGroupInfoAsync(stream);
        }
        catch (RedisServerException e) when (e.Message.StartsWith("ERR no such key", StringComparison.Ordinal))
        {
            return 0; // Nothing was ever published to this partition.
        }
        if (groups.FirstOrDefault(g => g.Name == identity.ConsumerGroup) is not { Name: not null } group)
        {
            // No consumer of the group has read this partition yet; the group starts at the stream's beginning.
            return await database.StreamLengthAsync(stream);
        }
        // Redis cannot tell the lag after an XDEL ahead of the group (nothing here deletes from partition streams): the
        // stream's length is then the bound, so a stall still shows.
        return (group.Lag ?? await database.StreamLengthAsync(stream)) + group.PendingMessageCount;
    }
}
