using System.Text.Json;

namespace StreamBets.Pools.Documents;

/// <summary>
/// Small JSON documents (pool templates, dynamic configuration) by collection and id: MongoDB in container mode,
/// a PostgreSQL jsonb table in local mode (<c>Documents:Store</c>). Both adapters pass the same contract tests.
/// A document is a JSON object, serialized with <see cref="DocumentStore.Json"/>; a put replaces the whole document.
/// </summary>
public interface IDocumentStore
{
    Task<T?> GetAsync<T>(string collection, string id, CancellationToken cancellationToken = default) where T : class;

    Task PutAsync<T>(string collection, string id, T document, CancellationToken cancellationToken = default) where T : class;

    /// <summary>False when there was no such document.</summary>
    Task<bool> DeleteAsync(string collection, string id, CancellationToken cancellationToken = default);

    /// <summary>Every document of the collection, ordered by id.</summary>
    Task<IReadOnlyList<StoredDocument<T>>> ListAsync<T>(string collection, CancellationToken cancellationToken = default) where T : class;
}

public sealed record StoredDocument<T>(string Id, T Document);

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
