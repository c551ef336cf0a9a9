using Microsoft.Extensions.DependencyInjection;
using MongoDB.Driver;
using Npgsql;

namespace StreamBets.Pools.Documents;

public static class DocumentStoreExtensions
{
    public const string MongoConnectionName = "mongo";

    /// <summary>
    /// Registers <see cref="IDocumentStore"/> as <c>Documents:Store</c> says: "Postgres" (the default, local mode) keeps
    /// documents in the service database's <c>documents</c> table; "MongoDB" uses connection string "mongo" and the
    /// database <c>Documents:Database</c> (default "streambets_{service}").
    /// </summary>
    public static IHostApplicationBuilder AddDocumentStore(this IHostApplicationBuilder builder, string defaultDatabase)
    {
        var kind = builder.Configuration.GetValue("Documents:Store", DocumentStoreKind.Postgres);
        switch (kind)
        {
            case DocumentStoreKind.Postgres:
                builder.Services.AddSingleton<IDocumentStore>(sp => new PostgresDocumentStore(sp.GetRequiredService<NpgsqlDataSource>()));
                break;
            case DocumentStoreKind.MongoDB:
                var connectionString = builder.Configuration.GetConnectionString(MongoConnectionName)
                    ?? throw new InvalidOperationException($"Documents:Store is MongoDB but ConnectionStrings:{MongoConnectionName} is not configured.");
                var databaseName = builder.Configuration["Documents:Database"] ?? defaultDatabase;
                builder.Services.AddSingleton<IMongoClient>(_ => new MongoClient(MongoClientSettingsFor(connectionString)));
                builder.Services.AddSingleton<IDocumentStore>(sp => new MongoDocumentStore(
                    sp.GetRequiredService<IMongoClient>().GetDatabase(databaseName), sp.GetRequiredService<ILogger<MongoDocumentStore>>()));
                break;
            default:
                throw new InvalidOperationException($"Unknown Documents:Store '{kind}'; use Postgres or MongoDB.");
        }

        return builder;
    }

    /// <summary>How long a MongoDB operation waits for a server it can use before it fails, unless the connection string says.</summary>
    public static readonly TimeSpan MongoServerSelectionTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The client settings of <paramref name="connectionString"/>, with a <see cref="MongoServerSelectionTimeout"/> in place
    /// of the driver's 30 s when it sets none: while MongoDB is unreachable, a read fails in seconds (and the configuration's
    /// last settings serve) instead of holding a pool creation or a sweep for half a minute.
    /// </summary>
    public static MongoClientSettings MongoClientSettingsFor(string connectionString)
    {
        var settings = MongoClientSettings.FromConnectionString(connectionString);
        if (!connectionString.Contains("serverSelectionTimeoutMS", StringComparison.OrdinalIgnoreCase))
        {
            settings.ServerSelectionTimeout = MongoServerSelectionTimeout;
        }
        return settings;
    }
}
