using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using MongoDB.Bson;
using MongoDB.Bson.IO;
using MongoDB.Driver;

namespace StreamBets.Pools.Documents;

/// <summary>
/// Documents in MongoDB (container mode): one MongoDB collection per collection, the id as <c>_id</c>. Documents go
/// through the same System.Text.Json shape as the PostgreSQL store, so both hold identical JSON. Each write stores a new
/// random <c>_version</c> beside them; a document written before versions existed has none and reads as version "0".
/// </summary>
public sealed partial class MongoDocumentStore(IMongoDatabase database, ILogger<MongoDocumentStore>? logger = null) : IDocumentStore
{
    private readonly ILogger _logger = logger ?? NullLogger<MongoDocumentStore>.Instance;

    // Relaxed extended JSON writes numbers as plain JSON numbers (64-bit integers included), which System.Text.Json reads back exactly.
    private static readonly JsonWriterSettings ReadBack = new() { OutputMode = JsonOutputMode.RelaxedExtendedJson };
    private const string VersionField = "_version";
    private const string Unversioned = "0";

    public async Task<T?> GetAsync<T>(string collection, string id, CancellationToken cancellationToken = default) where T : class
    {
        var document = await database.GetCollection<BsonDocument>(collection).Find(ById(id)).FirstOrDefaultAsync(cancellationToken);
        return document is null ? null : Deserialize<T>(document);
    }

    public async Task PutAsync<T>(string collection, string id, T document, CancellationToken cancellationToken = default) where T : class
    {
        await database.GetCollection<BsonDocument>(collection).ReplaceOneAsync(ById(id), ToBson(id, document), new ReplaceOptions { IsUpsert = true }, cancellationToken);
    }

    public async Task<VersionedDocument<T>?> GetVersionedAsync<T>(string collection, string id, CancellationToken cancellationToken = default) where T : class
    {
        var document = await database.GetCollection<BsonDocument>(collection).Find(ById(id)).FirstOrDefaultAsync(cancellationToken);
        if (document is null)
        {
            return null;
        }
        var version = document.TryGetValue(VersionField, out var stored) && stored.IsString ? stored.AsString : Unversioned;
        return new VersionedDocument<T>(Deserialize<T>(document), version);
    }

    public async Task<bool> TryPutAsync<T>(string collection, string id, T document, string? expectedVersion, CancellationToken cancellationToken = default)
        where T : class
    {
        var documents = database.GetCollection<BsonDocument>(collection);
        if (expectedVersion is null)
        {
            try
            {
                await documents.InsertOneAsync(ToBson(id, document), cancellationToken: cancellationToken);
                return true;
            }
            catch (MongoWriteException e) when (e.WriteError.Category == ServerErrorCategory.DuplicateKey)
            {
                return false;
            }
        }
        // One document's replace is atomic: of two writers at one version, only the first still matches.
        var replaced = await documents.ReplaceOneAsync(ById(id) & AtVersion(expectedVersion), ToBson(id, document), new ReplaceOptions { IsUpsert = false }, cancellationToken);
        return replaced.MatchedCount == 1;
    }

    public async Task<bool> TryDeleteAsync(string collection, string id, string expectedVersion, CancellationToken cancellationToken = default)
    {
        var result = await database.GetCollection<BsonDocument>(collection).DeleteOneAsync(ById(id) & AtVersion(expectedVersion), cancellationToken);
        return result.DeletedCount > 0;
    }

    private static FilterDefinition<BsonDocument> AtVersion(string version)
    {
        var filter = Builders<BsonDocument>.Filter;
        return version == Unversioned
            ? filter.Or(filter.Exists(VersionField, false), filter.Eq(VersionField, Unversioned))
            : filter.Eq(VersionField, version);
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
        return Listed<T>(collection, documents, _logger);
    }

    /// <summary>
    /// The documents a list answers: one whose <c>_id</c> is no string (an ObjectId, from an insert by hand in the MongoDB
    /// shell) has no id the API can get, replace or delete it by, so it is left out and logged, as a document that is no
    /// template is: one bad document never fails the list.
    /// </summary>
    internal static IReadOnlyList<StoredDocument<T>> Listed<T>(string collection, IEnumerable<BsonDocument> documents, ILogger logger) where T : class
    {
        var listed = new List<StoredDocument<T>>();
        foreach (var document in documents)
        {
            var id = document.GetValue("_id", BsonNull.Value);
            if (id.IsString)
            {
                listed.Add(new StoredDocument<T>(id.AsString, Deserialize<T>(document)));
            }
            else
            {
                LogIdNotString(logger, collection, id.ToJson());
            }
        }
        return listed;
    }

    private static FilterDefinition<BsonDocument> ById(string id) => Builders<BsonDocument>.Filter.Eq("_id", id);

    private static BsonDocument ToBson<T>(string id, T document)
    {
        var bson = BsonDocument.Parse(JsonSerializer.Serialize(document, DocumentStore.Json));
        bson["_id"] = id;
        bson[VersionField] = Guid.NewGuid().ToString("N");
        return bson;
    }

    private static T Deserialize<T>(BsonDocument document)
    {
        document.Remove("_id");
        document.Remove(VersionField);
        return JsonSerializer.Deserialize<T>(document.ToJson(ReadBack), DocumentStore.Json)!;
    }

    [LoggerMessage(EventId = 6201, EventName = "StoredDocumentIdNotString", Level = LogLevel.Error,
        Message = "A document in MongoDB collection {Collection} has _id {Id}, which is no string, so it is left out of every list and nothing reads it; re-insert it in MongoDB under a string _id, or remove it")]
    private static partial void LogIdNotString(ILogger logger, string collection, string id);
}
