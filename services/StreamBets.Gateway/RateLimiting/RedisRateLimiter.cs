using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace StreamBets.Gateway.RateLimiting;

/// <summary>
/// A fixed window per client, aligned to the clock so that every replica agrees where a window starts, and shared
/// through Redis without a round trip per request. A replica admits on its own count plus the total Redis gave it at
/// its last sync; every <see cref="RateLimitOptions.SyncInterval"/> it adds its new requests to each client's counter
/// in one pipelined batch and reads the totals back. One replica is exact. With several, a client can get past its
/// budget by what the other replicas admitted since their last sync.
/// </summary>
public sealed partial class RedisRateLimiter(
    IConnectionMultiplexer redis,
    IOptions<RateLimitOptions> options,
    TimeProvider time,
    ILogger<RedisRateLimiter> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<string, ClientWindow> _windows = new(StringComparer.Ordinal);

    /// <summary>Counts a request of <paramref name="client"/> against <paramref name="limit"/> permits per window.</summary>
    public RateLimitDecision Acquire(string client, int limit)
    {
        var settings = options.Value;
        var windowMs = settings.WindowSeconds * 1000L;
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var index = now / windowMs;
        var retryAfter = TimeSpan.FromMilliseconds((index + 1) * windowMs - now);
        while (true)
        {
            var window = _windows.GetOrAdd(client, static _ => new ClientWindow());
            lock (window)
            {
                if (window.Dropped)
                {
                    continue;
                }
                if (window.Index != index)
                {
                    window.Start(index);
                }
                var allowed = window.Count < limit;
                if (allowed)
                {
                    window.Unsynced++;
                }
                return new RateLimitDecision(allowed, limit, retryAfter);
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

    /// <summary>Sends the requests admitted since the last sync and takes the totals of every replica back.</summary>
    public async Task SyncAsync()
    {
        var windowMs = options.Value.WindowSeconds * 1000L;
        var current = time.GetUtcNow().ToUnixTimeMilliseconds() / windowMs;
        var batch = redis.GetDatabase().CreateBatch();
        var sent = new List<(ClientWindow Window, long Index, int Delta, Task<long> Total)>();
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
                if (window.Unsynced == 0)
                {
                    continue;
                }
                var key = (RedisKey)$"ratelimit:{client}:{window.Index}";
                sent.Add((window, window.Index, window.Unsynced, batch.StringIncrementAsync(key, window.Unsynced)));
                _ = batch.KeyExpireAsync(key, TimeSpan.FromMilliseconds(2 * windowMs), flags: CommandFlags.FireAndForget);
                window.InFlight += window.Unsynced;
                window.Unsynced = 0;
            }
        }
        if (sent.Count == 0)
        {
            return;
        }

        batch.Execute();
        Exception? failure = null;
        foreach (var (window, index, delta, total) in sent)
        {
            long? shared = null;
            try
            {
                shared = await total;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                failure = e;
            }
            lock (window)
            {
                if (window.Index == index)
                {
                    // Answered: Redis's total includes them. Lost: they are sent again next time.
                    window.InFlight -= delta;
                    if (shared is { } value)
                    {
                        window.Shared = Math.Max(window.Shared, value);
                    }
                    else
                    {
                        window.Unsynced += delta;
                    }
                }
            }
        }
        if (failure is not null)
        {
            LogSyncFailed(logger, failure);
        }
    }

    /// <summary>One client's current window, guarded by its own lock.</summary>
    private sealed class ClientWindow
    {
        public long Index;
        /// <summary>The client's total over every replica at the last sync, this replica's synced requests included.</summary>
        public long Shared;
        public int InFlight;
        public int Unsynced;
        public bool Dropped;

        public long Count => Shared + InFlight + Unsynced;

        public void Start(long index) => (Index, Shared, InFlight, Unsynced) = (index, 0, 0, 0);
    }

    [LoggerMessage(EventId = 1, EventName = "RateLimitSyncFailed", Level = LogLevel.Warning,
        Message = "Could not share rate-limit counts through Redis; this replica limits on its own counts until it can")]
    private static partial void LogSyncFailed(ILogger logger, Exception exception);
}

public readonly record struct RateLimitDecision(bool Allowed, int Limit, TimeSpan RetryAfter);
