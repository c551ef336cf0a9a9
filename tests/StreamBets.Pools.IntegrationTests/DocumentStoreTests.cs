using MongoDB.Driver;
using Npgsql;
using StreamBets.Pools.Documents;
using StreamBets.Testing;

namespace StreamBets.Pools.IntegrationTests;

/// <summary>The contract on PostgreSQL jsonb (local mode), on the machine's real PostgreSQL with the service's own schema.</summary>
public sealed class PostgresDocumentStoreTests : DocumentStoreContract, IAsyncLifetime
{
    private NpgsqlDataSource? _database;

    public async Task InitializeAsync()
    {
        var connectionString = await (await TestServers.PostgresAsync()).CreateDatabaseAsync("pooldocs");
        await Microsoft.Extensions.Hosting.PostgresSchema.MigrateAsync(connectionString, typeof(PostgresDocumentStore).Assembly);
        _database = NpgsqlDataSource.Create(connectionString);
    }

    public async Task DisposeAsync()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }

    protected override Task<IDocumentStore> StoreAsync() => Task.FromResult<IDocumentStore>(new PostgresDocumentStore(_database!));
}

/// <summary>
/// The contract on MongoDB (container mode). No MongoDB server can be installed on the build machines, so these run only
/// where STREAMBETS_TEST_MONGO names one (e.g. mongodb://localhost:27017) and are reported as skipped otherwise.
/// </summary>
public sealed class MongoDocumentStoreTests : DocumentStoreContract
{
    public const string Variable = "STREAMBETS_TEST_MONGO";

    protected override Task<IDocumentStore> StoreAsync()
    {
        var connectionString = Environment.GetEnvironmentVariable(Variable);
        Skip.If(string.IsNullOrWhiteSpace(connectionString), $"Skipped: no MongoDB server is configured (set {Variable} to a connection string to run the MongoDB adapter's contract tests).");
        var settings = MongoClientSettings.FromConnectionString(connectionString);
        settings.ServerSelectionTimeout = TimeSpan.FromSeconds(5);
        var database = new MongoClient(settings).GetDatabase($"streambets_pools_tests_{Guid.NewGuid():N}"[..40]);
        return Task.FromResult<IDocumentStore>(new MongoDocumentStore(database));
    }
}
