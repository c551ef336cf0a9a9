using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace StreamBets.Gateway.RateLimiting;

/// <summary>
/// A fixed window per client, aligned to the clock so that every replica agrees where a window starts, and shared
/// through Redis without a round trip per request. A replica admits on its own count plus the total Redis gave it at
/// its last sync; every <see cref="RateLimitOptions.SyncInterval"/> it writes its count of each client's window into
/// that window's hash (a field per replica) and reads back the sum, in one pipelined batch. A count is set, not added:
/// a sync whose answer was lost after Redis took it is sent again without counting anything twice. One replica is
/// exact. With several, a client can get past its budget by what the other replicas admitted since their last sync.
/// </summary>
public sealed partial class RedisRateLimiter(
    IConnectionMultiplexer redis,
    IOptions<RateLimitOptions> options,
    TimeProvider time,
    ILogger<RedisRateLimiter> logger) : BackgroundService
{
    /// <summary>Raises this replica's count (never lowers it: an older sync may land late), keeps the hash for two
    /// windows, and returns every replica's count summed.</summary>
    private const string SetCountAndSum = """
        local known = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
        if tonumber(ARGV[2]) > known then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
        redis.call('PEXPIRE', KEYS[1], ARGV[3])
        local total = 0
        for _, count in ipairs(redis.call('HVALS', KEYS[1])) do total = total + tonumber(count) end
        return total
        """;

    private readonly ConcurrentDictionary<string, ClientWindow> _windows = new(StringComparer.Ordinal);
    private readonly RedisValue _replica = Guid.NewGuid().ToString("N");

    /// <summary>Counts a request of <paramref name="client"/> against <paramref name="limit"/> permits per window.</summary>
    public RateLimitDecision Acquire(string client, int limit) => Acquire(client, limit, sharedBudget: null, sharedLimit: 0);

    /// <summary>
    /// Counts a request of <paramref name="client"/> against <paramref name="limit"/> permits per window and, unless
    /// null, against <paramref name="sharedLimit"/> of <paramref name="sharedBudget"/>, a budget it shares with other
    /// clients (an IPv6 /64's site): admitted only if both have a permit left, and then counted in both. A shared
    /// budget is counted and synced like a client's; a request refused by either counts in neither.
    /// </summary>
    public RateLimitDecision Acquire(string client, int limit, string? sharedBudget, int sharedLimit)
    {
        var settings = options.Value;
        var windowMs = settings.WindowSeconds * 1000L;
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var index = now / windowMs;
        var retryAfter = TimeSpan.FromMilliseconds((index + 1) * windowMs - now);
        while (true)
        {
            var window = _windows.GetOrAdd(client, static _ => new ClientWindow());
            var shared = sharedBudget is null ? null : _windows.GetOrAdd(sharedBudget, static _ => new ClientWindow());
            // The shared budget's lock first, always (no key is ever both a client and a shared budget); without one,
            // the client's twice, which Monitor allows.
            lock (shared ?? window)
            {
                lock (window)
                {
                    if (window.Dropped || shared?.Dropped == true)
                    {
                        continue;
                    }
                    window.Enter(index);
                    shared?.Enter(index);
                    if (window.Count >= limit)
                    {
                        return new RateLimitDecision(false, limit, retryAfter);
                    }
                    if (shared is not null && shared.Count >= sharedLimit)
                    {
                        return new RateLimitDecision(false, sharedLimit, retryAfter, ByShared: true);
                    }
                    window.Own++;
                    if (shared is not null)
                    {
                        shared.Own++;
                    }
                    return new RateLimitDecision(true, limit, retryAfter);
                }
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.SyncInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            // A failed sync leaves each replica limiting on its own counts until the next one.
            await SyncAsync();
        }
    }

    /// <summary>Sends this replica's count of each client with requests since the last sync, and takes the totals of every replica back.</summary>
    public async Task SyncAsync()
    {
        var windowMs = options.Value.WindowSeconds * 1000L;
        var current = time.GetUtcNow().ToUnixTimeMilliseconds() / windowMs;
        var batch = redis.GetDatabase().CreateBatch();
        var sent = new List<(ClientWindow Window, long Index, int Own, Task<RedisResult> Total)>();
        foreach (var (client, window) in _windows)
        {
            lock (window)
            {
                if (window.Index < current - 1)
                {
                    // Idle for a whole window: forget the client, and make a racing Acquire take a fresh entry.
                    window.Dropped = true;
                    _windows.TryRemove(new KeyValuePair<string, ClientWindow>(client, window));
                    continue;
                }
                if (window.Own == window.Synced)
                {
                    continue;
                }
                // Not the counters (strings) of the gateways before: during a rolling deploy each kind limits on its own.
                RedisKey key = $"ratelimit:{client}:{window.Index}:by-replica";
                // The script's text every time (EVAL), not its hash: a hash Redis no longer knows (a restart, a failover,
                // SCRIPT FLUSH) is retried by the client as a new command, which a batch already sent never sends, and
                // the sync would wait for its answer for ever.
                sent.Add((window, window.Index, window.Own,
                    batch.ScriptEvaluateAsync(SetCountAndSum, [key], [_replica, window.Own, 2 * windowMs], CommandFlags.NoScriptCache)));
            }
        }
        if (sent.Count == 0)
        {
            return;
        }

        batch.Execute();
        Exception? failure = null;
        foreach (var (window, index, own, total) in sent)
        {
            long shared;
            try
            {
                shared = (long)await total;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                failure = e; // the count is sent again next time: Redis may have taken it, but it sets, not adds
                continue;
            }
            lock (window)
            {
                if (window.Index == index && own >= window.Synced)
                {
                    (window.Synced, window.Shared) = (own, Math.Max(window.Shared, shared));
                }
            }
        }
        if (failure is not null)
        {
            LogSyncFailed(logger, failure);
        }
    }

    /// <summary>One client's (or shared budget's) current window, guarded by its own lock.</summary>
    private sealed class ClientWindow
    {
        public long Index;
        /// <summary>The client's total over every replica at the last sync, this replica's <see cref="Synced"/> included.</summary>
        public long Shared;
        /// <summary>The requests this replica admitted in the window.</summary>
        public int Own;
        /// <summary>How many of <see cref="Own"/> Redis's <see cref="Shared"/> includes.</summary>
        public int Synced;
        public bool Dropped;

        public long Count => Shared + Own - Synced;

        /// <summary>Makes <paramref name="index"/> the current window: afresh unless it already is.</summary>
        public void Enter(long index)
        {
            if (Index != index)
            {
                (Index, Shared, Own, Synced) = (index, 0, 0, 0);
            }
        }
    }

    [LoggerMessage(EventId = 1, EventName = "RateLimitSyncFailed", Level = LogLevel.Warning,
        Message = "Could not share rate-limit counts through Redis; this replica limits on its own counts until it can")]
    private static partial void LogSyncFailed(ILogger logger, Exception exception);
}

/// <param name="ByShared">Refused by the budget the client shares (its IPv6 /48's), not its own.</param>
public readonly record struct RateLimitDecision(bool Allowed, int Limit, TimeSpan RetryAfter, bool ByShared = false);
