using System.Text.Json;
using MongoDB.Bson;
using MongoDB.Bson.IO;
using MongoDB.Driver;

namespace StreamBets.Pools.Documents;

/// <summary>
/// Documents in MongoDB (container mode): one MongoDB collection per collection, the id as <c>_id</c>. Documents go
/// through the same System.Text.Json shape as the PostgreSQL store, so both hold identical JSON.
/// </summary>
public sealed class MongoDocumentStore(IMongoDatabase database) : IDocumentStore
{
    // Relaxed extended JSON writes numbers as plain JSON numbers (64-bit integers included), which System.Text.Json reads back exactly.
    private static readonly JsonWriterSettings ReadBack = new() { OutputMode = JsonOutputMode.RelaxedExtendedJson };

    public async Task<T?> GetAsync<T>(string collection, string id, CancellationToken cancellationToken = default) where T : class
    {
        var document = await database.GetCollection<BsonDocument>(collection).Find(ById(id)).FirstOrDefaultAsync(cancellationToken);
        return document is null ? null : Deserialize<T>(document);
    }

    public async Task PutAsync<T>(string collection, string id, T document, CancellationToken cancellationToken = default) where T : class
    {
        var bson = BsonDocument.Parse(JsonSerializer.Serialize(document, DocumentStore.Json));
        bson["_id"] = id;
        await database.GetCollection<BsonDocument>(collection).ReplaceOneAsync(ById(id), bson, new ReplaceOptions { IsUpsert = true }, cancellationToken);
    }

    public async Task<bool> DeleteAsync(string collection, string id, CancellationToken cancellationToken = default)
    {
        var result = await database.GetCollection<BsonDocument>(collection).DeleteOneAsync(ById(id), cancellationToken);
        return result.DeletedCount > 0;
    }

    public async Task<IReadOnlyList<StoredDocument<T>>> ListAsync<T>(string collection, CancellationToken cancellationToken = default) where T : class
    {
        var documents = await database.GetCollection<BsonDocument>(collection).Find(FilterDefinition<BsonDocument>.Empty)
            .Sort(Builders<BsonDocument>.Sort.Ascending("_id")).ToListAsync(cancellationToken);
        return documents.Select(d => new StoredDocument<T>(d["_id"].AsString, Deserialize<T>(d))).ToArray();
    }

    private static FilterDefinition<BsonDocument> ById(string id) => Builders<BsonDocument>.Filter.Eq("_id", id);

    private static T Deserialize<T>(BsonDocument document)
    {
        document.Remove("_id");
        return JsonSerializer.Deserialize<T>(document.ToJson(ReadBack), DocumentStore.Json)!;
    }
}
