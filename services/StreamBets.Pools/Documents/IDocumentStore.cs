using System.Text.Json;

namespace StreamBets.Pools.Documents;

/// <summary>
/// Small JSON documents (pool templates, dynamic configuration) by collection and id: MongoDB in container mode,
/// a PostgreSQL jsonb table in local mode (<c>Documents:Store</c>). Both adapters pass the same contract tests.
/// A document is a JSON object, serialized with <see cref="DocumentStore.Json"/>; a put replaces the whole document.
/// Every write gives the document a new version, an opaque string, so a writer can replace it only if no one else has
/// since it was read (<see cref="TryPutAsync"/>).
/// </summary>
public interface IDocumentStore
{
    Task<T?> GetAsync<T>(string collection, string id, CancellationToken cancellationToken = default) where T : class;

    Task PutAsync<T>(string collection, string id, T document, CancellationToken cancellationToken = default) where T : class;

    /// <summary>The document and the version of its last write, or null.</summary>
    Task<VersionedDocument<T>?> GetVersionedAsync<T>(string collection, string id, CancellationToken cancellationToken = default) where T : class;

    /// <summary>
    /// Compare-and-swap: writes the document only if the stored one is still at <paramref name="expectedVersion"/> or,
    /// when that is null, only if there is none. False, with nothing written, otherwise.
    /// </summary>
    Task<bool> TryPutAsync<T>(string collection, string id, T document, string? expectedVersion, CancellationToken cancellationToken = default)
        where T : class;

    /// <summary>False when there was no such document.</summary>
    Task<bool> DeleteAsync(string collection, string id, CancellationToken cancellationToken = default);

    /// <summary>Deletes the document only if it is still at <paramref name="expectedVersion"/>; false, with nothing deleted, otherwise.</summary>
    Task<bool> TryDeleteAsync(string collection, string id, string expectedVersion, CancellationToken cancellationToken = default);

    /// <summary>Every document of the collection, ordered by id.</summary>
    Task<IReadOnlyList<StoredDocument<T>>> ListAsync<T>(string collection, CancellationToken cancellationToken = default) where T : class;
}

public sealed record StoredDocument<T>(string Id, T Document);

public sealed record VersionedDocument<T>(T Document, string Version);

public enum DocumentStoreKind
{
    Postgres,
    MongoDB,
}

public static class DocumentStore
{
    /// <summary>One JSON shape for both stores: camelCase, as the REST API shows the same documents.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
}
