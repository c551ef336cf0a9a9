using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace StreamBets.Realtime.Live;

/// <summary>
/// Sequence numbers and the replay buffer of each stream, in Redis so every replica numbers a stream the same way and
/// any replica can answer CatchUp. A stream's counter (INCR) and its replay (a sorted set scored by sequence, capped and
/// expiring) are written by one script, so a number is never handed out without its message being kept.
/// </summary>
public sealed class LiveStreamStore(IConnectionMultiplexer redis, RealtimeKeys keys, IOptions<RealtimeOptions> options)
{
    /// <summary>Lua: takes the next number of a stream and keeps "seq type json" in its replay; shared by the chat scripts.</summary>
    public const string AppendFunction = """
        local function append(seqKey, replayKey, entry, capacity, seqTtl, replayTtl)
          local seq = redis.call('INCR', seqKey)
          redis.call('PEXPIRE', seqKey, seqTtl)
          redis.call('ZADD', replayKey, seq, seq .. ' ' .. entry)
          redis.call('ZREMRANGEBYRANK', replayKey, 0, -(tonumber(capacity) + 1))
          redis.call('PEXPIRE', replayKey, replayTtl)
          return seq
        end
        """;

    // KEYS: sequence, replay, seen, version. ARGV: entry, capacity, sequence TTL, replay TTL, seen TTL (0: no
    // deduplication), version (0: none).
    // 0 (nothing to push) when the event was pushed already. The seen key holds "pending:{seq}" from numbering until
    // MarkPushed turns it into "{seq}": a redelivery of a pending event is answered with its number, since its push may
    // have failed, but a pushed one must not go out again (a client that joined since would take it for news). Any other
    // value counts as pushed, such as '1' from versions that marked an event before numbering it.
    // The seen key is forgotten after minutes, the bus may redeliver for days: an event with a version is also 0 when the
    // stream pushed its entity at that version or a later one, which is kept as long as the sequence.
    private const string AppendScript = AppendFunction + """

        local dedupe = tonumber(ARGV[5]) > 0
        if dedupe then
          local seen = redis.call('GET', KEYS[3])
          if seen then return tonumber(string.match(seen, '^pending:(%d+)$') or 0) end
        end
        local version = tonumber(ARGV[6])
        if version > 0 and tonumber(redis.call('GET', KEYS[4]) or '0') >= version then return 0 end
        local seq = append(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
        if dedupe then redis.call('SET', KEYS[3], 'pending:' .. seq, 'PX', ARGV[5]) end
        if version > 0 then redis.call('SET', KEYS[4], ARGV[6], 'PX', ARGV[3]) end
        return seq
        """;

    // KEYS: sequence, replay, numbered odds total, pending odds. ARGV: entry, capacity, sequence TTL, replay TTL, total
    // staked. 0 (nothing appended) when odds with as much staked were numbered already: a pool's total only rises while
    // it takes bets, so a snapshot with no more staked is old news (a stalled Bet Engine replica's, or a redelivery). Lua
    // numbers are doubles, exact to 2^53 minor units. Like an event's seen key, the pending key holds "{seq}:{total}"
    // from numbering until MarkOddsPushed: the same snapshot offered again then gets its number back, since its push may
    // have failed (the coalescer retries a failed push, and the last odds before a lock have no later change to repair
    // them). The total stays a plain number, as replicas of the previous version read it (a rollback must not break them).
    private const string AppendOddsScript = AppendFunction + """

        local pending = redis.call('GET', KEYS[4])
        if pending then
          local seq, total = string.match(pending, '^(%d+):(%d+)$')
          if seq and tonumber(total) == tonumber(ARGV[5]) then return tonumber(seq) end
        end
        local numbered = redis.call('GET', KEYS[3])
        if numbered and tonumber(numbered) >= tonumber(ARGV[5]) then return 0 end
        local seq = append(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
        redis.call('SET', KEYS[3], ARGV[5], 'PX', ARGV[3])
        redis.call('SET', KEYS[4], seq .. ':' .. ARGV[5], 'PX', ARGV[3])
        return seq
        """;

    // KEYS: pending odds. ARGV: the pending value. Only while no newer odds were numbered since.
    private const string MarkOddsPushedScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
        """;

    // KEYS: sequence, replay. ARGV: after. {1, entries...}, or {-1} when a message after it is no longer kept
    // (or the counter restarted below it, e.g. Redis lost its data). The replay holds every number up to the counter
    // without holes (a chat deletion keeps its number) until a counter jumps past a Redis restart
    // (LiveSequenceJump): counting what is kept after `after` catches both a trimmed replay and a number in the jump.
    private const string ReadScript = """
        local current = tonumber(redis.call('GET', KEYS[1]) or '0')
        local after = tonumber(ARGV[1])
        if after > current then return {-1} end
        if after == current then return {1} end
        if redis.call('ZCOUNT', KEYS[2], '(' .. ARGV[1], '+inf') ~= current - after then return {-1} end
        local result = {1}
        for _, entry in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf')) do
          result[#result + 1] = entry
        end
        return result
        """;

    private RealtimeOptions Options => options.Value;

    /// <summary>The arguments every append needs after the entry: capacity and the two TTLs.</summary>
    public RedisValue[] RetentionArguments() =>
    [
        Options.ReplayCapacity,
        (long)Options.SequenceRetention.TotalMilliseconds,
        (long)Options.ReplayRetention.TotalMilliseconds,
    ];

    /// <summary>
    /// Numbers the message and keeps it for replay. When <paramref name="eventId"/> was numbered on this stream before, its
    /// number then if its push is not known to have gone out, else null; null too when the stream pushed the
    /// <paramref name="version"/>'s entity at that version or a later one.
    /// </summary>
    public async Task<long?> AppendAsync(LiveStream stream, LiveMessage message, Guid? eventId, EntityVersion? version = null)
    {
        var dedupeMs = eventId is null ? 0 : (long)Options.DeduplicationWindow.TotalMilliseconds;
        var result = (long)await redis.GetDatabase().ScriptEvaluateAsync(
            AppendScript,
            [keys.Sequence(stream), keys.Replay(stream), keys.Seen(stream, eventId), keys.Version(stream, version?.Entity)],
            [Entry(message), .. RetentionArguments(), dedupeMs, version?.Version ?? 0]);
        return result == 0 ? null : result;
    }

    /// <summary>
    /// Records that the event's push went out, keeping the seen key's expiry. Fire-and-forget: were the mark lost, a
    /// redelivery would be pushed again under its first number, which clients that saw it drop.
    /// </summary>
    public void MarkPushed(LiveStream stream, Guid eventId, long sequence) =>
        _ = redis.GetDatabase().StringSetAsync(keys.Seen(stream, eventId), sequence, expiry: null, keepTtl: true, when: When.Exists, flags: CommandFlags.FireAndForget);

    /// <summary>
    /// Numbers and keeps pool odds unless odds with as much staked were pushed on the stream already; null then. The same
    /// snapshot again, before its push is known to have gone out, gets its first number.
    /// </summary>
    public async Task<long?> AppendOddsAsync(LiveStream stream, OddsChangedMessage odds)
    {
        var result = (long)await redis.GetDatabase().ScriptEvaluateAsync(
            AppendOddsScript,
            [keys.Sequence(stream), keys.Replay(stream), keys.PushedOddsTotal(stream), keys.PendingOdds(stream)],
            [Entry(odds), .. RetentionArguments(), odds.TotalStakedMinor]);
        return result == 0 ? null : result;
    }

    /// <summary>Records that the odds' push went out; fire-and-forget, as <see cref="MarkPushed"/>.</summary>
    public void MarkOddsPushed(LiveStream stream, OddsChangedMessage numbered) =>
        _ = redis.GetDatabase().ScriptEvaluateAsync(MarkOddsPushedScript, [keys.PendingOdds(stream)],
            [$"{numbered.Sequence}:{numbered.TotalStakedMinor}"], CommandFlags.FireAndForget);

    /// <summary>Every message of the stream after <paramref name="afterSequence"/>, oldest first; null when some are no longer kept.</summary>
    public async Task<IReadOnlyList<ReplayedMessage>?> ReadAfterAsync(LiveStream stream, long afterSequence)
    {
        var result = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(
            ReadScript, [keys.Sequence(stream), keys.Replay(stream)], [afterSequence]))!;
        if ((long)result[0] < 0)
        {
            return null;
        }
        return [.. result.Skip(1).Select(entry => Parse((string)entry!))];
    }

    /// <summary>"type json": the script puts the sequence in front, since it is known only there.</summary>
    public static string Entry(LiveMessage message) => $"{message.Event} {JsonSerializer.Serialize(message, message.GetType(), LiveJson.Options)}";

    /// <summary>Reads "seq type json" back, with the payload's sequence set to the one the script gave.</summary>
    public static ReplayedMessage Parse(string stored)
    {
        var first = stored.IndexOf(' ', StringComparison.Ordinal);
        var second = stored.IndexOf(' ', first + 1);
        var payload = JsonNode.Parse(stored.AsSpan(second + 1).ToString())!.AsObject();
        payload["sequence"] = long.Parse(stored.AsSpan(0, first), CultureInfo.InvariantCulture);
        return new ReplayedMessage(stored[(first + 1)..second], payload);
    }
}

/// <summary>
/// How far an entity (a pool's lifecycle, say) has come: an event that only moves it forward carries one, and a stream
/// pushes no event at or below the version it pushed last, however late the bus redelivers it.
/// </summary>
public readonly record struct EntityVersion(string Entity, long Version);

/// <summary>The JSON the hub speaks (SignalR's defaults: camelCase), also used for what is kept in Redis.</summary>
public static class LiveJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);
}
