using System.Globalization;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace StreamBets.Pools.Documents;

/// <summary>
/// Documents as jsonb rows of the service database's <c>documents</c> table (local mode); the row's <c>version</c> counts
/// its writes.
/// </summary>
public sealed class PostgresDocumentStore(NpgsqlDataSource database) : IDocumentStore
{
    public async Task<T?> GetAsync<T>(string collection, string id, CancellationToken cancellationToken = default) where T : class
    {
        await using var command = database.CreateCommand("SELECT body::text FROM documents WHERE collection = $1 AND id = $2");
        command.Parameters.AddWithValue(collection);
        command.Parameters.AddWithValue(id);
        return await command.ExecuteScalarAsync(cancellationToken) is string json ? JsonSerializer.Deserialize<T>(json, DocumentStore.Json) : null;
    }

    public async Task PutAsync<T>(string collection, string id, T document, CancellationToken cancellationToken = default) where T : class
    {
        await using var command = database.CreateCommand("""
            INSERT INTO documents (collection, id, body) VALUES ($1, $2, $3)
            ON CONFLICT (collection, id) DO UPDATE SET body = EXCLUDED.body, updated_at = now(), version = documents.version + 1
            """);
        command.Parameters.AddWithValue(collection);
        command.Parameters.AddWithValue(id);
        command.Parameters.Add(Body(document));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<VersionedDocument<T>?> GetVersionedAsync<T>(string collection, string id, CancellationToken cancellationToken = default) where T : class
    {
        await using var command = database.CreateCommand("SELECT body::text, version FROM documents WHERE collection = $1 AND id = $2");
        command.Parameters.AddWithValue(collection);
        command.Parameters.AddWithValue(id);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new VersionedDocument<T>(JsonSerializer.Deserialize<T>(reader.GetString(0), DocumentStore.Json)!, reader.GetInt64(1).ToString(CultureInfo.InvariantCulture))
            : null;
    }

    public async Task<bool> TryPutAsync<T>(string collection, string id, T document, string? expectedVersion, CancellationToken cancellationToken = default)
        where T : class
    {
        long version = 0;
        if (expectedVersion is not null && !long.TryParse(expectedVersion, NumberStyles.None, CultureInfo.InvariantCulture, out version))
        {
            return false; // no version this store gave
        }
        // The WHERE is checked again on the row as it is when the UPDATE locks it, so of two writers at one version only one wins.
        await using var command = database.CreateCommand(expectedVersion is null
            ? "INSERT INTO documents (collection, id, body) VALUES ($1, $2, $3) ON CONFLICT (collection, id) DO NOTHING"
            : "UPDATE documents SET body = $3, updated_at = now(), version = version + 1 WHERE collection = $1 AND id = $2 AND version = $4");
        command.Parameters.AddWithValue(collection);
        command.Parameters.AddWithValue(id);
        command.Parameters.Add(Body(document));
        if (expectedVersion is not null)
        {
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = version });
        }
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    private static NpgsqlParameter Body<T>(T document) =>
        new() { Value = JsonSerializer.Serialize(document, DocumentStore.Json), NpgsqlDbType = NpgsqlDbType.Jsonb };

    public async Task<bool> DeleteAsync(string collection, string id, CancellationToken cancellationToken = default)
    {
        await using var command = database.CreateCommand("DELETE FROM documents WHERE collection = $1 AND id = $2");
        command.Parameters.AddWithValue(collection);
        command.Parameters.AddWithValue(id);
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    public async Task<bool> TryDeleteAsync(string collection, string id, string expectedVersion, CancellationToken cancellationToken = default)
    {
        if (!long.TryParse(expectedVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var version))
        {
            return false; // no version this store gave
        }
        await using var command = database.CreateCommand("DELETE FROM documents WHERE collection = $1 AND id = $2 AND version = $3");
        command.Parameters.AddWithValue(collection);
        command.Parameters.AddWithValue(id);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = version });
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    public async Task<IReadOnlyList<StoredDocument<T>>> ListAsync<T>(string collection, CancellationToken cancellationToken = default) where T : class
    {
        await using var command = database.CreateCommand("SELECT id, body::text FROM documents WHERE collection = $1 ORDER BY id COLLATE \"C\"");
        command.Parameters.AddWithValue(collection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var documents = new List<StoredDocument<T>>();
        while (await reader.ReadAsync(cancellationToken))
        {
            documents.Add(new StoredDocument<T>(reader.GetString(0), JsonSerializer.Deserialize<T>(reader.GetString(1), DocumentStore.Json)!));
        }

        return documents;
    }
}
