using StreamBets.Pools.Documents;

namespace StreamBets.Pools.Configuration;

/// <summary>
/// Reads <see cref="PoolsSettings"/> from the document store, cached for <see cref="CacheFor"/> so pool creation and
/// the sweeper never wait on it; a write through this replica applies at once, other replicas see it within that time.
/// </summary>
public sealed class PoolsSettingsProvider(IDocumentStore documents, TimeProvider time)
{
    public const string Collection = "config";
    public const string DocumentId = "pools";
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);

    private volatile Cached? _cached;

    public async Task<PoolsSettings> GetAsync(CancellationToken cancellationToken)
    {
        if (_cached is { } cached && time.GetUtcNow() < cached.Until)
        {
            return cached.Settings;
        }

        var settings = await documents.GetAsync<PoolsSettings>(Collection, DocumentId, cancellationToken) ?? new PoolsSettings();
        _cached = new Cached(settings, time.GetUtcNow() + CacheFor);
        return settings;
    }

    /// <summary>
    /// The stored configuration and the store's version of it (null while none was ever written), read now rather
    /// than from the cache: what an admin edits.
    /// </summary>
    public async Task<(PoolsSettings Settings, string? StoredVersion)> ReadAsync(CancellationToken cancellationToken)
    {
        var stored = await documents.GetVersionedAsync<PoolsSettings>(Collection, DocumentId, cancellationToken);
        return (stored?.Document ?? new PoolsSettings(), stored?.Version);
    }

    /// <summary>Writes the configuration if the stored one is still at <paramref name="storedVersion"/>; false otherwise.</summary>
    public async Task<bool> TryPutAsync(PoolsSettings settings, string? storedVersion, CancellationToken cancellationToken)
    {
        if (!await documents.TryPutAsync(Collection, DocumentId, settings, storedVersion, cancellationToken))
        {
            return false;
        }
        _cached = new Cached(settings, time.GetUtcNow() + CacheFor);
        return true;
    }

    private sealed record Cached(PoolsSettings Settings, DateTimeOffset Until);
}
