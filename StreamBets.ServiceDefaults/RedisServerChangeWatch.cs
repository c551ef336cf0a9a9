using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Notices a Redis server that is not the one a service last checked, such as one that restarted from an older copy (an
/// RDB snapshot, an AOF fsynced every second, a failover to a lagging replica), and lets the service repair what the
/// older copy holds (<see cref="RepairAsync"/>).
/// <para>
/// Redis gives every server start a new <c>run_id</c> (INFO server), and a replica has its own. The run id of the server
/// last checked is kept in Redis itself, under a key of the service's own (services sharing a Redis each repair theirs;
/// in a cluster, the run id of the primary that holds that key: our deployments run one primary), not in the process: so
/// a replica started after the restart notices it too, and of several replicas the first to check repairs and the others
/// find the key current. The key is written only after the repair, so a replica that dies in between leaves the repair to
/// the next check; a repair must therefore be harmless when run twice. An old copy holds an older run id (or none), never
/// the new server's. Checked at start, when the client reconnects, and every minute in case a failover moved the client
/// without a reconnect.
/// </para>
/// </summary>
public abstract partial class RedisServerChangeWatch(IConnectionMultiplexer redis, RedisKey checkedRunKey, TimeProvider time, ILogger logger) : BackgroundService
{
    /// <summary>The server's run id. Through a script, as the client sends INFO only on an admin connection.</summary>
    private const string RunIdScript = "return string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')";

    private static readonly TimeSpan CheckEvery = TimeSpan.FromMinutes(1);

    private TaskCompletionSource _reconnected = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // The run id this process saw at its last check, whoever repaired: the service may have to tell its own clients.
    private string? _seenHere;

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

    /// <summary>Repairs if the server's run id is not the one last checked, then records it; true if this call repaired.</summary>
    public async Task<bool> CheckAsync()
    {
        var primaries = redis.GetServers().Where(s => s.IsConnected && !s.IsReplica).ToArray();
        if (primaries.Length == 0)
        {
            return false; // unreachable: the reconnect brings the next check
        }

        var database = redis.GetDatabase();
        var current = (string)(await database.ScriptEvaluateAsync(RunIdScript))!;
        var checkedRun = await database.StringGetAsync(checkedRunKey);
        var repaired = checkedRun != current;
        if (repaired)
        {
            await RepairAsync(primaries, database, checkedRun.IsNull ? "none" : checkedRun.ToString(), current);
            await database.StringSetAsync(checkedRunKey, current);
        }

        var seenBefore = _seenHere;
        _seenHere = current;
        if (seenBefore is not null && seenBefore != current)
        {
            await ServerChangedUnderThisProcessAsync();
        }
        return repaired;
    }

    /// <summary>Repairs what an older copy may hold, on every primary; may run twice for one restart.</summary>
    protected abstract Task RepairAsync(IServer[] primaries, IDatabase database, string checkedRunId, string runId);

    /// <summary>
    /// The server changed since this process last checked (after the repair, by this replica or another): for what the
    /// process itself holds. Not at the first check, before which the process relied on nothing.
    /// </summary>
    protected virtual Task ServerChangedUnderThisProcessAsync() => Task.CompletedTask;

    [LoggerMessage(EventId = 5004, EventName = "RedisRestartCheckFailed", Level = LogLevel.Warning, Message = "Could not check whether Redis restarted; checking again on reconnect or within a minute")]
    private static partial void LogCheckFailed(ILogger logger, Exception exception);
}
