using System.Text.Json;
using System.Text.Json.Nodes;
using StreamBets.Pools.Documents;

namespace StreamBets.Pools.Configuration;

/// <summary>
/// Reads <see cref="PoolsSettings"/> from the document store, cached for <see cref="CacheFor"/> so pool creation and
/// the sweeper never wait on it; a write through this replica applies at once, other replicas see it within that time.
/// What is read is checked with the rules the admin API applies (<see cref="PoolsSettings.Problems"/>): a document
/// written around the API that breaks them, or is no configuration at all, is logged as an error and the last valid
/// settings stay in force. When the store does not answer, the last settings read stay in force too, and the store is
/// asked again after <see cref="CacheFor"/>. A replica with no valid settings to go on (one that started after the
/// document broke, or while the store fails) fails rather than open pools at a rake the operators never set, and
/// gives that answer without asking the store again until <see cref="CacheFor"/> has passed.
/// </summary>
public sealed partial class PoolsSettingsProvider(IDocumentStore documents, TimeProvider time, ILogger<PoolsSettingsProvider> logger)
{
    public const string Collection = "config";
    public const string DocumentId = "pools";
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);

    private readonly SemaphoreSlim _reading = new(1, 1);
    private Cached? _cached; // read with Volatile.Read, replaced by a write or a compare-and-swap
    // Why a replica with nothing to go on last failed, and until when that answer stands: the sweeper asks every
    // tick, and each ask would otherwise read the store and log the same error again.
    private Unavailable? _unavailable;
    private StoreRead? _lastRead;

    /// <summary>The settings this replica has in force (the last valid ones it read or wrote, however old); null when none.</summary>
    public PoolsSettings? InForce => Volatile.Read(ref _cached)?.Settings;

    /// <summary>
    /// How the last read of the store went, and since when it has gone so; null before the first. The sweeper reads
    /// every <see cref="CacheFor"/>, so this is at most that old, and the health check reports it without a read of its own.
    /// </summary>
    public StoreRead? LastRead => Volatile.Read(ref _lastRead);

    public async Task<PoolsSettings> GetAsync(CancellationToken cancellationToken)
    {
        var cached = Volatile.Read(ref _cached);
        if (cached is not null && time.GetUtcNow() < cached.Until)
        {
            return cached.Settings;
        }

        ThrowIfRecentlyUnavailable(cached);

        // One caller reads the store at a time; the others carry on with the last settings rather than queue behind a
        // slow or failing store. Only a first read, with nothing to carry on with, waits.
        if (!await _reading.WaitAsync(cached is null ? Timeout.InfiniteTimeSpan : TimeSpan.Zero, cancellationToken))
        {
            return cached!.Settings;
        }
        try
        {
            cached = Volatile.Read(ref _cached);
            if (cached is not null && time.GetUtcNow() < cached.Until)
            {
                return cached.Settings;
            }
            ThrowIfRecentlyUnavailable(cached);

            PoolsSettings settings;
            try
            {
                settings = await ReadInForceAsync(cached?.Settings, cancellationToken);
            }
            catch (PoolsSettingsUnavailableException e)
            {
                Volatile.Write(ref _unavailable, new Unavailable(e, time.GetUtcNow() + CacheFor));
                throw;
            }
            // A write through this replica (TryPutAsync) while the store was read is newer than what was read: it stays.
            var read = new Cached(settings, time.GetUtcNow() + CacheFor);
            var replaced = Interlocked.CompareExchange(ref _cached, read, cached);
            return ReferenceEquals(replaced, cached) ? settings : replaced!.Settings;
        }
        finally
        {
            _reading.Release();
        }
    }

    private void ThrowIfRecentlyUnavailable(Cached? cached)
    {
        if (cached is null && Volatile.Read(ref _unavailable) is { } failed && time.GetUtcNow() < failed.Until)
        {
            throw new PoolsSettingsUnavailableException(failed.Reason.Message, failed.Reason.InnerException);
        }
    }

    /// <summary>The stored settings if they are valid; else the last valid ones (<paramref name="lastValid"/>), or a failure when there are none.</summary>
    private async Task<PoolsSettings> ReadInForceAsync(PoolsSettings? lastValid, CancellationToken cancellationToken)
    {
        StoredPoolsSettings stored;
        try
        {
            stored = await ReadAsync(cancellationToken);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            LogStoreFailed(logger, e, CacheFor.TotalSeconds);
            return lastValid ?? throw new PoolsSettingsUnavailableException(
                "The pools configuration store cannot be read and this replica has no configuration to go on yet.", e);
        }
        return stored.IsValid
            ? stored.Settings
            : lastValid ?? throw new PoolsSettingsUnavailableException(
                "The stored pools configuration is invalid and this replica has no valid one to go on; correct it with PUT /api/pools/admin/config.");
    }

    /// <summary>
    /// The stored configuration as an admin edits it, read now rather than from the cache. When the stored document is
    /// invalid or unreadable (logged as an error), <see cref="StoredPoolsSettings.Settings"/> are the ones in force here
    /// (the defaults when none), <see cref="StoredPoolsSettings.Problems"/> say why, and the version is the stored
    /// document's digest, so a PUT at that version replaces it.
    /// </summary>
    public async Task<StoredPoolsSettings> ReadAsync(CancellationToken cancellationToken)
    {
        // Read as plain JSON first, so a document that is no configuration still has a version an admin can replace.
        VersionedDocument<JsonNode>? stored;
        try
        {
            stored = await documents.GetVersionedAsync<JsonNode>(Collection, DocumentId, cancellationToken);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            Record(StoreReadOutcome.StoreFailed);
            throw;
        }
        if (stored is null)
        {
            Record(StoreReadOutcome.Valid);
            var defaults = new PoolsSettings();
            return new StoredPoolsSettings(defaults, ValuesVersion.Of(defaults), null, null);
        }

        PoolsSettings? settings = null;
        JsonException? unreadable = null;
        try
        {
            settings = stored.Document?.Deserialize<PoolsSettings>(DocumentStore.Json); // a stored JSON null reads as null
        }
        catch (JsonException e)
        {
            unreadable = e;
        }
        var problems = settings?.Problems() ?? Unreadable;
        Record(problems.Count == 0 ? StoreReadOutcome.Valid : StoreReadOutcome.Invalid);
        if (problems.Count == 0)
        {
            return new StoredPoolsSettings(settings!, ValuesVersion.Of(settings!), stored.Version, null);
        }
        if (settings is null)
        {
            LogUnreadable(logger, unreadable);
        }
        else
        {
            LogInvalid(logger, string.Join("; ", problems.Select(p => $"{p.Key}: {string.Join(" ", p.Value)}")));
        }
        return new StoredPoolsSettings(InForce ?? new PoolsSettings(), ValuesVersion.Of(stored.Document), stored.Version, problems);
    }

    private static readonly Dictionary<string, string[]> Unreadable = new()
    {
        ["$"] = ["The stored document is not a pools configuration; a PUT at the version read replaces it."],
    };

    /// <summary>Writes the configuration if the stored document is still at <paramref name="storeVersion"/>; false otherwise.</summary>
    public async Task<bool> TryPutAsync(PoolsSettings settings, string? storeVersion, CancellationToken cancellationToken)
    {
        if (!await documents.TryPutAsync(Collection, DocumentId, settings, storeVersion, cancellationToken))
        {
            return false;
        }
        Volatile.Write(ref _cached, new Cached(settings, time.GetUtcNow() + CacheFor));
        Record(StoreReadOutcome.Valid);
        return true;
    }

    private void Record(StoreReadOutcome outcome)
    {
        var last = Volatile.Read(ref _lastRead);
        if (last?.Outcome != outcome)
        {
            Volatile.Write(ref _lastRead, new StoreRead(outcome, time.GetUtcNow()));
        }
    }

    private sealed record Cached(PoolsSettings Settings, DateTimeOffset Until);

    private sealed record Unavailable(PoolsSettingsUnavailableException Reason, DateTimeOffset Until);

    [LoggerMessage(EventId = 6101, EventName = "PoolsConfigurationInvalid", Level = LogLevel.Error,
        Message = "The stored pools configuration breaks the configuration rules and is ignored; the last valid settings stay in force (none on a replica that never read valid ones: it refuses pool creation) until it is corrected: {Problems}")]
    private static partial void LogInvalid(ILogger logger, string problems);

    [LoggerMessage(EventId = 6102, EventName = "PoolsConfigurationUnreadable", Level = LogLevel.Error,
        Message = "The stored pools configuration is not a configuration document and is ignored; the last valid settings stay in force (none on a replica that never read valid ones: it refuses pool creation) until it is corrected")]
    private static partial void LogUnreadable(ILogger logger, Exception? exception);

    [LoggerMessage(EventId = 6103, EventName = "PoolsConfigurationStoreFailed", Level = LogLevel.Warning,
        Message = "The document store did not answer for the pools configuration; the last settings read, if any, stay in force (none: pools are refused 503), asking again in {RetrySeconds} s")]
    private static partial void LogStoreFailed(ILogger logger, Exception exception, double retrySeconds);
}

/// <summary>
/// The stored configuration as admins read it: <see cref="Settings"/> (the stored ones when valid), the
/// <see cref="Version"/> a change sends back, the store's own <see cref="StoreVersion"/> (null while none was ever
/// written), and, when the stored document is invalid or no configuration at all, its <see cref="Problems"/>.
/// </summary>
public sealed record StoredPoolsSettings(PoolsSettings Settings, string Version, string? StoreVersion, IReadOnlyDictionary<string, string[]>? Problems)
{
    public bool IsValid => Problems is null;
}

/// <summary>How a read of the stored configuration went (<see cref="Outcome"/>), and since when reads have gone so.</summary>
public sealed record StoreRead(StoreReadOutcome Outcome, DateTimeOffset Since);

public enum StoreReadOutcome
{
    /// <summary>The store answered with a valid configuration (or none: the defaults), or took a write.</summary>
    Valid,
    /// <summary>The store answered with a document that breaks the rules or is no configuration; it is ignored.</summary>
    Invalid,
    /// <summary>The store did not answer.</summary>
    StoreFailed,
}

/// <summary>No valid pools configuration to go on: the stored one is invalid and this replica never read a valid one.</summary>
public sealed class PoolsSettingsUnavailableException(string message, Exception? inner = null) : InvalidOperationException(message, inner);
