using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Brings a service's own PostgreSQL database up to date before the service takes traffic:
/// it creates the database if it is missing (local mode starts a bare server) and applies the
/// service's embedded <c>*.sql</c> scripts in name order, each once, under an advisory lock so
/// that two replicas starting together never race. It also turns PostgreSQL's JIT compiler off for the database
/// (see <see cref="TurnJitOffAsync"/>).
/// </summary>
public static class PostgresSchema
{
    public static TBuilder AddPostgresSchema<TBuilder>(this TBuilder builder, string connectionName, Assembly scriptsAssembly)
        where TBuilder : IHostApplicationBuilder
    {
        // A service may migrate several script assemblies into one database (its own and the event bus's
        // outbox/inbox); one hosted service applies them all, in the order they were added.
        builder.Services.AddSingleton(new SchemaScripts(connectionName, scriptsAssembly));
        if (!builder.Services.Any(d => d.ImplementationType == typeof(SchemaMigrator)))
        {
            // First of all hosted services: hosted services start one after another, and those registered before
            // this call (the health-check publisher that gRPC health adds, the event bus's relay and consumers)
            // would otherwise run against a database that does not exist yet. The publisher's first round, 5 s after
            // it starts, then logged "database ... does not exist" as an error whenever migrating took longer.
            builder.Services.Insert(0, ServiceDescriptor.Singleton<IHostedService, SchemaMigrator>());
        }
        return builder;
    }

    /// <summary>Applies the scripts; also used directly by tests that need a migrated database.</summary>
    public static async Task MigrateAsync(string connectionString, Assembly scriptsAssembly, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        await EnsureDatabaseExistsAsync(connectionString, cancellationToken);

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_lock(727274)", connection))
        {
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }

        await TurnJitOffAsync(connection, logger, cancellationToken);

        await using (var create = new NpgsqlCommand(
            "CREATE TABLE IF NOT EXISTS schema_migrations (script text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())", connection))
        {
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        var applied = new HashSet<string>();
        await using (var read = new NpgsqlCommand("SELECT script FROM schema_migrations", connection))
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                applied.Add(reader.GetString(0));
            }
        }

        foreach (var resource in scriptsAssembly.GetManifestResourceNames().Where(n => n.EndsWith(".sql", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            if (applied.Contains(resource))
            {
                continue;
            }

            await using var stream = scriptsAssembly.GetManifestResourceStream(resource)!;
            using var text = new StreamReader(stream);
            var sql = await text.ReadToEndAsync(cancellationToken);

            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await ApplyAsync(connection, resource, sql, cancellationToken);
                    break;
                }
                catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.LockNotAvailable && attempt < LockAttempts)
                {
                    var wait = TimeSpan.FromSeconds(Math.Min(10, attempt));
                    logger?.LogWarning("Schema script {Script} waited {LockTimeout} for a lock held by running work (attempt {Attempt}); trying again in {Wait}",
                        resource, LockTimeout, attempt, wait);
                    await Task.Delay(wait, cancellationToken);
                }
            }
            logger?.LogInformation("Applied schema script {Script}", resource);
        }

        await using var unlock = new NpgsqlCommand("SELECT pg_advisory_unlock(727274)", connection);
        await unlock.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// How long a script waits for each lock it needs. A script altering a table waits for every transaction already using
    /// it (a settlement streaming a pool's bets holds a snapshot on <c>bets</c> for seconds), and every query on that table
    /// queues behind the waiting script: with no bound, a deploy would stop bet placement until the long reader ended.
    /// Bounded, the script gives way after this long and tries again (<see cref="LockAttempts"/> times, about 9 minutes),
    /// so live traffic waits at most this long at a time for a script still waiting. It bounds the wait, not the work: once
    /// a script holds its lock, what it does under it (an index built, rows backfilled) holds that traffic until it commits,
    /// so such scripts are kept to tables where that is short (016's partial index on <c>pools</c>: one row per pool ever).
    /// </summary>
    public static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(2);

    private const int LockAttempts = 60;

    /// <summary>One script and its record, in one transaction.</summary>
    private static async Task ApplyAsync(NpgsqlConnection connection, string resource, string sql, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var bound = new NpgsqlCommand($"SET LOCAL lock_timeout = '{(int)LockTimeout.TotalMilliseconds}ms'", connection, transaction))
        {
            await bound.ExecuteNonQueryAsync(cancellationToken);
        }
        await using (var apply = new NpgsqlCommand(sql, connection, transaction))
        {
            await apply.ExecuteNonQueryAsync(cancellationToken);
        }
        await using (var record = new NpgsqlCommand("INSERT INTO schema_migrations (script) VALUES ($1)", connection, transaction))
        {
            record.Parameters.AddWithValue(resource);
            await record.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
    }

    private static async Task EnsureDatabaseExistsAsync(string connectionString, CancellationToken cancellationToken)
    {
        var target = new NpgsqlConnectionStringBuilder(connectionString);
        var database = target.Database ?? throw new InvalidOperationException("The connection string names no database.");
        var maintenance = new NpgsqlConnectionStringBuilder(connectionString) { Database = "postgres", Pooling = false };

        await using var connection = new NpgsqlConnection(maintenance.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = $1", connection);
        exists.Parameters.AddWithValue(database);
        if (await exists.ExecuteScalarAsync(cancellationToken) is not null)
        {
            return;
        }

        try
        {
            await using var create = new NpgsqlCommand($"CREATE DATABASE {Quoted(database)}", connection);
            await create.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.DuplicateDatabase or PostgresErrorCodes.UniqueViolation)
        {
            // Another replica created it first: seen as the name taken, or, when both passed the name check at once, as
            // the catalog's unique index refusing the second row.
        }
    }

    /// <summary>
    /// Our statements are short and set-based, but when stale statistics inflate a plan's estimated cost past
    /// <c>jit_above_cost</c>, PostgreSQL compiles it with LLVM on every call: 90-170 ms per call of the leaderboard sums
    /// (12 ms without) while a 1,000,000-bet pool settled and its new tables had no statistics yet. Set on the database,
    /// so that every connection gets it, whichever data source opens it. A role that may not alter the database leaves
    /// the server's setting in place, with a warning.
    /// </summary>
    private static async Task TurnJitOffAsync(NpgsqlConnection connection, ILogger? logger, CancellationToken cancellationToken)
    {
        try
        {
            await using var alter = new NpgsqlCommand($"ALTER DATABASE {Quoted(connection.Database)} SET jit = off", connection);
            await alter.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            logger?.LogWarning("JIT stays as the server sets it for database {Database}: {Message}. Set jit = off on the server.", connection.Database, e.MessageText);
        }
    }

    // Identifiers cannot be parameters; the name comes from our own configuration and is quoted.
    private static string Quoted(string identifier) => $"\"{identifier.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";

    private sealed record SchemaScripts(string ConnectionName, Assembly Assembly);

    private sealed class SchemaMigrator(IEnumerable<SchemaScripts> scripts, IConfiguration configuration, ILogger<SchemaMigrator> logger) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            foreach (var (connectionName, assembly) in scripts)
            {
                var connectionString = configuration.GetConnectionString(connectionName)
                    ?? throw new InvalidOperationException($"ConnectionStrings:{connectionName} is not configured.");
                await MigrateAsync(connectionString, assembly, logger, cancellationToken);
            }
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
