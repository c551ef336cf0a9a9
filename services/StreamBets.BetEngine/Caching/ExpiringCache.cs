using System.Collections.Concurrent;

namespace StreamBets.BetEngine.Caching;

/// <summary>
/// An in-memory cache of remote answers with a time to live judged by the injected clock. Concurrent misses on one key
/// share one fetch (in the last-second rush thousands of requests ask for the same pool at once), and a failed fetch is
/// not cached, so the next caller tries again.
/// </summary>
public sealed class ExpiringCache<TKey, TValue>(TimeProvider time) where TKey : notnull
{
    private const int PruneEvery = 4096;

    private readonly ConcurrentDictionary<TKey, Entry> _entries = new();
    private int _writes;

    /// <param name="fetch">Fetches the value and says how long it may be served; it runs without the caller's
    /// cancellation because other callers may be waiting for it too.</param>
    public async Task<TValue> GetOrFetchAsync(TKey key, Func<TKey, Task<(TValue Value, TimeSpan TimeToLive)>> fetch)
    {
        var now = time.GetUtcNow();
        if (_entries.TryGetValue(key, out var cached) && !cached.IsExpired(now))
        {
            return await cached.Value;
        }

        var started = new TaskCompletionSource<TValue>(TaskCreationOptions.RunContinuationsAsynchronously);
        var fresh = new Entry(started.Task);
        var entry = cached is null ? _entries.GetOrAdd(key, fresh) : (_entries.TryUpdate(key, fresh, cached) ? fresh : _entries.GetOrAdd(key, fresh));
        if (!ReferenceEquals(entry, fresh))
        {
            return await entry.Value; // another caller is fetching (or just fetched) it
        }

        if (Interlocked.Increment(ref _writes) % PruneEvery == 0)
        {
            Prune(now);
        }

        try
        {
            var (value, timeToLive) = await fetch(key);
            fresh.Expire(time.GetUtcNow() + timeToLive);
            started.SetResult(value);
            return value;
        }
        catch (Exception e)
        {
            _entries.TryRemove(new KeyValuePair<TKey, Entry>(key, fresh));
            started.SetException(e);
            throw;
        }
    }

    /// <summary>Forgets a key, so the next caller fetches it again.</summary>
    public void Remove(TKey key) => _entries.TryRemove(key, out _);

    /// <summary>
    /// Forgets every key that matches, looking at each entry. A fetch in flight for a forgotten key still answers its
    /// callers, but its value is never served after: its entry was put in the cache before the fetch began, and the
    /// fetch only ever completes that entry, which is gone.
    /// </summary>
    public void RemoveAll(Func<TKey, bool> match)
    {
        // The dictionary itself, not its Keys: enumerating it takes no lock, where Keys stops every writer while it copies.
        foreach (var (key, _) in _entries)
        {
            if (match(key))
            {
                _entries.TryRemove(key, out _);
            }
        }
    }

    private void Prune(DateTimeOffset now)
    {
        foreach (var (key, entry) in _entries)
        {
            if (entry.IsExpired(now))
            {
                _entries.TryRemove(new KeyValuePair<TKey, Entry>(key, entry));
            }
        }
    }

    /// <summary>An entry whose fetch is still in flight never expires; its expiry is set once the value is known.</summary>
    private sealed class Entry(Task<TValue> value)
    {
        private long _expiresAtUtcTicks = long.MaxValue;

        public Task<TValue> Value { get; } = value;

        public void Expire(DateTimeOffset at) => Volatile.Write(ref _expiresAtUtcTicks, at.UtcTicks);

        public bool IsExpired(DateTimeOffset now) => now.UtcTicks >= Volatile.Read(ref _expiresAtUtcTicks);
    }
}
