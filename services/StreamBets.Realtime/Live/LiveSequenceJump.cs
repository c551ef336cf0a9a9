using StackExchange.Redis;
using StreamBets.Realtime.Hubs;

namespace StreamBets.Realtime.Live;

/// <summary>
/// Moves every stream's sequence counter far forward when Redis is a new server (<see cref="RedisServerChangeWatch"/>). A
/// Redis that restarted from an older copy has counters below numbers clients already applied: the messages it numbers
/// next would look like duplicates to them and be dropped, and CatchUp after their highest would find nothing missing. After
/// the jump a client's next message lies past a hole, CatchUp across the hole answers catch-up-gap, and the page reloads.
/// This replica's connections are told to catch up at once (and so is every other replica's, by its own watch), for the
/// streams whose next message never comes.
/// </summary>
public sealed partial class LiveSequenceJump(
    IConnectionMultiplexer redis, RealtimeKeys keys, BackplaneResync resync, TimeProvider time, ILogger<LiveSequenceJump> logger)
    : RedisServerChangeWatch(redis, keys.CheckedRedisRun, time, logger)
{
    /// <summary>Far more numbers than a stream hands out between a snapshot and the next check (a minute or so).</summary>
    public const long Jump = 1_000_000;

    // KEYS: sequence. ARGV: jump. Only a counter that still exists: INCRBY would bring an expired one back without its TTL.
    // INCRBY is atomic against the append scripts' INCR, so no number is handed out twice; jumping twice (two replicas at
    // once) only widens the hole.
    private const string JumpScript = """
        if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        redis.call('INCRBY', KEYS[1], ARGV[1])
        return 1
        """;

    protected override async Task RepairAsync(IServer[] primaries, IDatabase database, string checkedRunId, string runId)
    {
        var jumped = 0;
        foreach (var server in primaries)
        {
            var batch = new List<Task<RedisResult>>(1000);
            // One key per script: in a cluster the streams are on different slots.
            await foreach (var key in server.KeysAsync(pattern: keys.SequencePattern, pageSize: 1000))
            {
                batch.Add(database.ScriptEvaluateAsync(JumpScript, [key], [Jump]));
                if (batch.Count == 1000)
                {
                    jumped += await CountAsync(batch);
                }
            }
            jumped += await CountAsync(batch);
        }
        LogJumped(logger, checkedRunId, runId, jumped, Jump);
    }

    protected override Task ServerChangedUnderThisProcessAsync()
    {
        _ = resync.ResyncAfterRedisRestartAsync();
        return Task.CompletedTask;
    }

    private static async Task<int> CountAsync(List<Task<RedisResult>> batch)
    {
        var jumped = (await Task.WhenAll(batch)).Count(result => (long)result == 1);
        batch.Clear();
        return jumped;
    }

    [LoggerMessage(EventId = 50, EventName = "SequencesJumped", Level = LogLevel.Warning,
        Message = "Redis is not the server last checked (run {CheckedRunId}, now {RunId}): moved {Streams} stream counters {Jump} forward, so clients reload")]
    private static partial void LogJumped(ILogger logger, string checkedRunId, string runId, int streams, long jump);
}
