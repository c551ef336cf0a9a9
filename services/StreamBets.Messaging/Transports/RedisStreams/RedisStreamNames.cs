using System.Globalization;
using System.Text;
using StackExchange.Redis;

namespace StreamBets.Messaging.Transports.RedisStreams;

/// <summary>Where a key's events live: topic "pools" with 16 partitions maps a pool id to one of "streambets:pools:0".."streambets:pools:15"; leases, members and dead letters beside them.</summary>
internal sealed class RedisStreamNames(RedisStreamsOptions options)
{
    private readonly string _prefix = options.KeyPrefix;

    public string Stream(string topic, int partition) => string.Create(CultureInfo.InvariantCulture, $"{_prefix}:{topic}:{partition}");

    public string StreamOf(string topic, string key) => Stream(topic, Partition(key, options.PartitionsPerTopic));

    public string Lease(string group, string topic, int partition) => string.Create(CultureInfo.InvariantCulture, $"{_prefix}:lease:{group}:{topic}:{partition}");

    /// <summary>The pub/sub channel that rings when a stream got entries, so idle consumers need not poll it often.</summary>
    public static RedisChannel Doorbell(string stream) => RedisChannel.Literal($"{stream}:doorbell");

    public string Members(string group) => $"{_prefix}:members:{group}";

    public string DeadLetter(string group) => $"{_prefix}:deadletter:{group}";

    /// <summary>FNV-1a of the key's UTF-8 bytes: stable across processes and .NET versions, unlike string.GetHashCode.</summary>
    public static int Partition(string key, int partitions)
    {
        var hash = 2166136261u;
        Span<byte> buffer = key.Length <= 128 ? stackalloc byte[Encoding.UTF8.GetMaxByteCount(key.Length)] : new byte[Encoding.UTF8.GetMaxByteCount(key.Length)];
        var length = Encoding.UTF8.GetBytes(key, buffer);
        foreach (var b in buffer[..length])
        {
            hash = (hash ^ b) * 16777619u;
        }
        return (int)(hash % (uint)partitions);
    }
}
