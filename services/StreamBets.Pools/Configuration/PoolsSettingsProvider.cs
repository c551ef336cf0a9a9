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

    public async Task PutAsync(PoolsSettings settings, CancellationToken cancellationToken)
    {
        await documents.PutAsync(Collection, DocumentId, settings, cancellationToken);
        _cached = new Cached(settings, time.GetUtcNow() + CacheFor);
    }

    private sealed record Cached(PoolsSettings Settings, DateTimeOffset Until);
}
