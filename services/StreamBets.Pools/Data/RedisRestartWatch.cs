using StackExchange.Redis;

namespace StreamBets.Pools.Data;

/// <summary>
/// Drops the Redis copies (leaderboards, stakes hashes) whenever the Redis server is not the one that last had them
/// checked, so they are rebuilt from PostgreSQL. A Redis that restarts from an older copy keeps boards that read as built
/// and stakes hashes that read as whole, with old sums and totals that nothing might ever rewrite. How a new server is
/// noticed, once across replicas: <see cref="RedisServerChangeWatch"/>. Two replicas dropping at once only rebuild twice.
/// A Redis that only restarted (nothing lost) is rebuilt too: restarts are rare and a rebuild is cheap next to showing
/// stale totals.
/// </summary>
public sealed partial class RedisRestartWatch(IConnectionMultiplexer redis, TimeProvider time, ILogger<RedisRestartWatch> logger)
    : RedisServerChangeWatch(redis, CheckedRunKey, time, logger)
{
    internal static readonly RedisKey CheckedRunKey = "pools:redis-run-id";

    /// <summary>The copies; each is rebuilt from PostgreSQL when missing (a board without its cut-off member, a stakes hash).</summary>
    private static readonly string[] CopyPatterns = ["pools:leaderboard:*", "pools:stakes:*"];

    private const string RebuildInProgress = ":rebuild:";

    protected override async Task RepairAsync(IServer[] primaries, IDatabase database, string checkedRunId, string runId)
    {
        var dropped = 0;
        foreach (var server in primaries)
        {
            foreach (var pattern in CopyPatterns)
            {
                var keys = new List<RedisKey>(1000);
                await foreach (var key in server.KeysAsync(pattern: pattern, pageSize: 1000))
                {
                    if (key.ToString().Contains(RebuildInProgress, StringComparison.Ordinal))
                    {
                        continue; // a rebuild's staging key: from PostgreSQL, and refused at its rename if it lost a chunk
                    }
                    keys.Add(key);
                    if (keys.Count == 1000)
                    {
                        dropped += await DropAsync(database, keys);
                    }
                }
                dropped += await DropAsync(database, keys);
            }
        }
        LogCopiesDropped(logger, checkedRunId, runId, dropped);
    }

    /// <summary>One key per command: in a cluster the keys are on different slots.</summary>
    private static async Task<int> DropAsync(IDatabase database, List<RedisKey> keys)
    {
        await Task.WhenAll(keys.Select(key => database.KeyDeleteAsync(key)));
        var count = keys.Count;
        keys.Clear();
        return count;
    }

    [LoggerMessage(EventId = 5003, EventName = "RedisCopiesDropped", Level = LogLevel.Warning,
        Message = "Redis is not the server last checked (run {CheckedRunId}, now {RunId}): dropped {Keys} leaderboard and stakes keys to rebuild them from PostgreSQL")]
    private static partial void LogCopiesDropped(ILogger logger, string checkedRunId, string runId, int keys);
}
