using StackExchange.Redis;

namespace StreamBets.Pools.Data;

/// <summary>
/// Drops the Redis copies (leaderboards, stakes hashes) whenever the Redis server is not the one that last had them
/// checked, so they are rebuilt from PostgreSQL. A Redis that restarts from an older copy (an RDB snapshot, an AOF
/// fsynced every second, a failover to a lagging replica) keeps boards that read as built and stakes hashes that read
/// as whole, with old sums and totals that nothing might ever rewrite.
/// <para>
/// Redis gives every server start a new <c>run_id</c> (INFO server), and a replica has its own. The run id of the server
/// whose copies were last checked is kept in Redis itself (<see cref="CheckedRunKey"/>; in a cluster, the run id of the
/// primary that holds that key: our deployments run one primary), not in this process: so a
/// replica started after the restart notices it too, and of several replicas the first to check drops the copies and
/// the others find the key current. The key is written only after the copies are dropped, so a replica that dies in
/// between leaves the drop to the next check; two replicas dropping at once only rebuild twice. An old copy holds an
/// older run id (or none), never the new server's. Checked at start, when the client reconnects, and every minute in
/// case a failover moved the client without a reconnect. A Redis that only restarted (nothing lost) is rebuilt too:
/// restarts are rare and a rebuild is cheap next to showing stale totals.
/// </para>
/// </summary>
public sealed partial class RedisRestartWatch(IConnectionMultiplexer redis, TimeProvider time, ILogger<RedisRestartWatch> logger) : BackgroundService
{
    internal static readonly RedisKey CheckedRunKey = "pools:redis-run-id";

    /// <summary>The copies; each is rebuilt from PostgreSQL when missing (a board without its cut-off member, a stakes hash).</summary>
    private static readonly string[] CopyPatterns = ["pools:leaderboard:*", "pools:stakes:*"];

    /// <summary>The server's run id. Through a script, as the client sends INFO only on an admin connection.</summary>
    private const string RunIdScript = "return string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')";

    private const string RebuildInProgress = ":rebuild:";

    private static readonly TimeSpan CheckEvery = TimeSpan.FromMinutes(1);

    private TaskCompletionSource _reconnected = new(TaskCreationOptions.RunContinuationsAsynchronously);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        redis.ConnectionRestored += OnReconnected;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                // Replaced before the check, so a reconnect during it brings another.
                var reconnected = _reconnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                try
                {
                    await CheckAsync();
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    LogCheckFailed(logger, e);
                }

                try
                {
                    await reconnected.Task.WaitAsync(CheckEvery, time, stoppingToken);
                }
                catch (TimeoutException)
                {
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            redis.ConnectionRestored -= OnReconnected;
        }
    }

    private void OnReconnected(object? sender, ConnectionFailedEventArgs e) => _reconnected.TrySetResult();

    /// <summary>Drops the copies if the server's run id is not the one last checked; true if it dropped them.</summary>
    internal async Task<bool> CheckAsync()
    {
        var primaries = redis.GetServers().Where(s => s.IsConnected && !s.IsReplica).ToArray();
        if (primaries.Length == 0)
        {
            return false; // unreachable: the reconnect brings the next check
        }

        var database = redis.GetDatabase();
        var current = (string)(await database.ScriptEvaluateAsync(RunIdScript))!;
        var checkedRun = await database.StringGetAsync(CheckedRunKey);
        if (checkedRun == current)
        {
            return false;
        }

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

        await database.StringSetAsync(CheckedRunKey, current);
        LogCopiesDropped(logger, checkedRun.IsNull ? "none" : checkedRun.ToString(), current, dropped);
        return true;
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

    [LoggerMessage(EventId = 5004, EventName = "RedisRestartCheckFailed", Level = LogLevel.Warning, Message = "Could not check whether Redis restarted; checking again on reconnect or within a minute")]
    private static partial void LogCheckFailed(ILogger logger, Exception exception);
}
