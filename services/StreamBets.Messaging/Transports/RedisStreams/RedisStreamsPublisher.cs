using StackExchange.Redis;

namespace StreamBets.Messaging.Transports.RedisStreams;

/// <summary>
/// Appends a relay batch to the partition streams with one Lua script per chunk: Redis runs it with nothing in between,
/// in one round trip. A script that fails part way does not roll back the XADDs before the error: those events stay in
/// the streams and the relay sends them again with the rest, in the same order (duplicates the inbox absorbs, as after
/// a lost reply).
/// It then rings each touched stream's doorbell once (see <see cref="RedisStreamNames.Doorbell"/>).
/// </summary>
internal sealed class RedisStreamsPublisher(IConnectionMultiplexer redis, RedisStreamsOptions options) : IEventPublisher
{
    private readonly RedisStreamNames _names = new(options);

    // KEYS[i] = partition stream; ARGV[1] = MAXLEN; ARGV[2i], ARGV[2i+1] = type and CloudEvent of message i.
    private const string AppendScript = """
        local rung = {}
        for i = 1, #KEYS do
          redis.call('XADD', KEYS[i], 'MAXLEN', '~', ARGV[1], '*', 'type', ARGV[2 * i], 'ce', ARGV[2 * i + 1])
          rung[KEYS[i]] = true
        end
        for stream in pairs(rung) do
          redis.call('PUBLISH', stream .. ':doorbell', '')
        end
        return #KEYS
        """;

    /// <summary>Messages per script call: large enough to amortise the round trip, small enough not to stall Redis.</summary>
    private const int ChunkSize = 500;

    public async Task<Exception?[]> PublishAsync(IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken)
    {
        var results = new Exception?[messages.Count];
        var database = redis.GetDatabase();
        for (var start = 0; start < messages.Count; start += ChunkSize)
        {
            var count = Math.Min(ChunkSize, messages.Count - start);
            var keys = new RedisKey[count];
            var values = new RedisValue[1 + 2 * count];
            values[0] = options.MaxLengthPerPartition;
            for (var i = 0; i < count; i++)
            {
                var message = messages[start + i];
                keys[i] = _names.StreamOf(message.Topic, message.Key);
                values[1 + 2 * i] = message.EventType;
                values[2 + 2 * i] = message.Body;
            }
            try
            {
                cancellationToken.ThrowIfCancellationRequested();
                await database.ScriptEvaluateAsync(AppendScript, keys, values);
            }
            catch (Exception e) when (e is RedisException or TimeoutException or OperationCanceledException)
            {
                // This chunk and every later one fail: later chunks may hold later events of the same keys.
                for (var i = start; i < messages.Count; i++)
                {
                    results[i] = e;
                }
                break;
            }
        }
        return results;
    }
}
