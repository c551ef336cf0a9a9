using System.Text.Json;
using StreamBets.Pools.Documents;

namespace StreamBets.Pools.Configuration;

/// <summary>
/// Reads <see cref="PoolsSettings"/> from the document store, cached for <see cref="CacheFor"/> so pool creation and
/// the sweeper never wait on it; a write through this replica applies at once, other replicas see it within that time.
/// What is read is checked with the rules the admin API applies (<see cref="PoolsSettings.Problems"/>): a document
/// written around the API that breaks them is logged as an error and the last valid settings stay in force (the
/// defaults if there were none). When the store does not answer, the last settings read stay in force too, and the
/// store is asked again after <see cref="CacheFor"/>; only a replica that never read them has nothing to go on, and fails.
/// </summary>
public sealed partial class PoolsSettingsProvider(IDocumentStore documents, TimeProvider time, ILogger<PoolsSettingsProvider> logger)
{
    public const string Collection = "config";
    public const string DocumentId = "pools";
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);

    private readonly SemaphoreSlim _reading = new(1, 1);
    private volatile Cached? _cached;

    public async Task<PoolsSettings> GetAsync(CancellationToken cancellationToken)
    {
        var cached = _cached;
        if (cached is not null && time.GetUtcNow() < cached.Until)
        {
            return cached.Settings;
        }

        // One caller reads the store at a time; the others carry on with the last settings rather than queue behind a
        // slow or failing store. Only a first read, with nothing to carry on with, waits.
        if (!await _reading.WaitAsync(cached is null ? Timeout.InfiniteTimeSpan : TimeSpan.Zero, cancellationToken))
        {
            return cached!.Settings;
        }
        try
        {
            cached = _cached;
            if (cached is not null && time.GetUtcNow() < cached.Until)
            {
                return cached.Settings;
            }

            var settings = await ReadValidAsync(cached?.Settings, cancellationToken);
            _cached = new Cached(settings, time.GetUtcNow() + CacheFor);
            return settings;
        }
        finally
        {
            _reading.Release();
        }
    }

    /// <summary>The stored settings if they are valid; else the last valid ones (<paramref name="lastValid"/>, or the defaults).</summary>
    private async Task<PoolsSettings> ReadValidAsync(PoolsSettings? lastValid, CancellationToken cancellationToken)
    {
        PoolsSettings? stored;
        try
        {
            stored = await documents.GetAsync<PoolsSettings>(Collection, DocumentId, cancellationToken);
        }
        catch (JsonException e)
        {
            LogUnreadable(logger, e);
            return lastValid ?? new PoolsSettings();
        }
        catch (Exception e) when (lastValid is not null && !cancellationToken.IsCancellationRequested)
        {
            LogStoreFailed(logger, e, CacheFor.TotalSeconds);
            return lastValid;
        }

        if (stored is null)
        {
            return new PoolsSettings();
        }
        var problems = stored.Problems();
        if (problems.Count > 0)
        {
            LogInvalid(logger, string.Join("; ", problems.Select(p => $"{p.Key}: {string.Join(" ", p.Value)}")));
            return lastValid ?? new PoolsSettings();
        }
        return stored;
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

    [LoggerMessage(EventId = 6101, EventName = "PoolsConfigurationInvalid", Level = LogLevel.Error,
        Message = "The stored pools configuration breaks the configuration rules and is ignored; the last valid settings stay in force until it is corrected: {Problems}")]
    private static partial void LogInvalid(ILogger logger, string problems);

    [LoggerMessage(EventId = 6102, EventName = "PoolsConfigurationUnreadable", Level = LogLevel.Error,
        Message = "The stored pools configuration is not a configuration document and is ignored; the last valid settings stay in force until it is corrected")]
    private static partial void LogUnreadable(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 6103, EventName = "PoolsConfigurationStoreFailed", Level = LogLevel.Warning,
        Message = "The document store did not answer for the pools configuration; the last settings read stay in force, asking again in {RetrySeconds} s")]
    private static partial void LogStoreFailed(ILogger logger, Exception exception, double retrySeconds);
}
