using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace StreamBets.Pools.Documents;

/// <summary>Documents as jsonb rows of the service database's <c>documents</c> table (local mode).</summary>
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
            ON CONFLICT (collection, id) DO UPDATE SET body = EXCLUDED.body, updated_at = now()
            """);
        command.Parameters.AddWithValue(collection);
        command.Parameters.AddWithValue(id);
        command.Parameters.Add(new NpgsqlParameter { Value = JsonSerializer.Serialize(document, DocumentStore.Json), NpgsqlDbType = NpgsqlDbType.Jsonb });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<bool> DeleteAsync(string collection, string id, CancellationToken cancellationToken = default)
    {
        await using var command = database.CreateCommand("DELETE FROM documents WHERE collection = $1 AND id = $2");
        command.Parameters.AddWithValue(collection);
        command.Parameters.AddWithValue(id);
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
