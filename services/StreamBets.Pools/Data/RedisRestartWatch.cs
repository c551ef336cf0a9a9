using System.Threading.Channels;
using StackExchange.Redis;

namespace StreamBets.Pools.Data;

/// <summary>
/// Drops the Redis copies (leaderboards, stakes hashes) whenever the Redis server is not the one that last had them
/// checked, so they are rebuilt from PostgreSQL. A Redis that restarts from an older copy keeps boards that read as built
/// and stakes hashes that read as whole, with old sums and totals that nothing might ever rewrite. How a new server is
/// noticed, once across replicas: <see cref="RedisServerChangeWatch"/>. Two replicas dropping at once only rebuild twice.
/// A Redis that only restarted (nothing lost) is rebuilt too: restarts are rare and a rebuild is cheap next to showing
/// stale totals. After the first check and after every drop it asks for the global boards' warm-up
/// (<see cref="CopiesToWarm"/>): readers of a dropped board would queue behind one rebuild and get 503s.
/// </summary>
public sealed partial class RedisRestartWatch(IConnectionMultiplexer redis, TimeProvider time, ILogger<RedisRestartWatch> logger)
    : RedisServerChangeWatch(redis, CheckedRunKey, time, logger)
{
    internal static readonly RedisKey CheckedRunKey = "pools:redis-run-id";

    /// <summary>The copies; each is rebuilt from PostgreSQL when missing (a board without its cut-off member, a stakes hash).</summary>
    private static readonly string[] CopyPatterns = ["pools:leaderboard:*", "pools:stakes:*"];

    private const string RebuildInProgress = ":rebuild:";

    // One pending request is enough: a warm-up that starts after it rebuilds whatever the drops before it removed.
    private readonly Channel<bool> _copiesToWarm = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    /// <summary>A value each time the copies may be missing: read by <see cref="Leaderboards.LeaderboardWarmup"/>.</summary>
    public ChannelReader<bool> CopiesToWarm => _copiesToWarm.Reader;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The first check runs before the start-up warm-up, so its drop cannot delete boards the warm-up has just built.
        // A failure is left to the loop's first check, which retries at once and logs it.
        try
        {
            await CheckAsync();
        }
        catch (Exception) when (!stoppingToken.IsCancellationRequested)
        {
        }
        _copiesToWarm.Writer.TryWrite(true);
        await base.ExecuteAsync(stoppingToken);
    }

    /// <summary>Another replica may have dropped the copies; its warm-up may not have run (it died, or is older).</summary>
    protected override Task ServerChangedUnderThisProcessAsync()
    {
        _copiesToWarm.Writer.TryWrite(true);
        return Task.CompletedTask;
    }

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
        _copiesToWarm.Writer.TryWrite(true);
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
