using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Npgsql;
using StreamBets.Testing;

namespace StreamBets.Messaging.Tests;

public sealed class SchemaMigrationTests
{
    /// <summary>
    /// Hosted services start one after another, and a service registers some (the health-check publisher of gRPC
    /// health, the event bus's relay and consumers) before it adds its schema. They must still find the database
    /// created and migrated: before, the publisher's first round logged "database ... does not exist" as an error
    /// whenever migrating took longer than its 5 s delay (seen on a busy box, in the AppHost's resource logs).
    /// </summary>
    [Fact]
    public async Task The_schema_is_migrated_before_hosted_services_registered_earlier_start()
    {
        var postgres = await TestServers.PostgresAsync();
        // Not created here: the migrator creates a missing database, as in local mode.
        var connectionString = postgres.ConnectionString($"migrate_first_{Guid.NewGuid():N}");
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ApplicationName = "StreamBets.Messaging.Tests", DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:servicedb"] = connectionString });
        var earlier = new SchemaProbe(connectionString);
        builder.Services.AddSingleton<IHostedService>(earlier);
        builder.AddPostgresSchema("servicedb", typeof(EventBusExtensions).Assembly);

        using var host = builder.Build();
        await host.StartAsync();
        await host.StopAsync();

        Assert.Null(earlier.Failure);
        Assert.True(earlier.ScriptsApplied > 0, "The earlier hosted service started before any schema script was applied.");
    }

    /// <summary>A first deploy starts several replicas of a service on an empty server: each migrates the same new database.</summary>
    [Fact]
    public async Task Replicas_creating_and_migrating_one_new_database_at_once_all_start()
    {
        var postgres = await TestServers.PostgresAsync();
        for (var round = 0; round < 5; round++)
        {
            var connectionString = postgres.ConnectionString($"replicas_{Guid.NewGuid():N}");

            await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => PostgresSchema.MigrateAsync(connectionString, typeof(EventBusExtensions).Assembly))));

            await using var connection = new NpgsqlConnection(connectionString + ";Pooling=false");
            await connection.OpenAsync();
            await using var applied = new NpgsqlCommand("SELECT count(*) FROM schema_migrations", connection);
            Assert.True((long)(await applied.ExecuteScalarAsync())! > 0);
        }
    }

    /// <summary>
    /// A deploy's script altering a table that a long transaction is reading (a settlement streaming a pool's bets) must
    /// not stop the table's traffic: before, the ALTER queued for its exclusive lock and every insert queued behind it
    /// until the reader ended. Now it gives way every <see cref="PostgresSchema.LockTimeout"/> and tries again.
    /// </summary>
    [Fact]
    public async Task A_script_waiting_for_a_lock_lets_the_tables_traffic_through_and_applies_once_the_reader_ends()
    {
        var postgres = await TestServers.PostgresAsync();
        var connectionString = postgres.ConnectionString($"lock_probe_{Guid.NewGuid():N}");
        await PostgresSchema.MigrateAsync(connectionString, typeof(EventBusExtensions).Assembly); // creates the database
        await using var reader = new NpgsqlConnection(connectionString + ";Pooling=false");
        await reader.OpenAsync();
        await Execute(reader, "CREATE TABLE lock_probe (id int PRIMARY KEY)");
        await using var reading = await reader.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead);
        await Execute(reader, "SELECT count(*) FROM lock_probe", reading);

        var migrating = Task.Run(() => PostgresSchema.MigrateAsync(connectionString, typeof(SchemaMigrationTests).Assembly));
        // Not a fixed pause: an insert sent before the script's ALTER queues for its lock meets no queued lock, and the test
        // would pass without testing anything.
        await using (var watcher = new NpgsqlConnection(connectionString + ";Pooling=false"))
        {
            await watcher.OpenAsync();
            await Eventually.TrueAsync(() => AlterWaitsForItsLockAsync(watcher), TimeSpan.FromSeconds(30), "the script's ALTER waits for its lock");
        }

        await using (var writer = new NpgsqlConnection(connectionString + ";Pooling=false"))
        {
            await writer.OpenAsync();
            await Execute(writer, "SET statement_timeout = '6s'");
            await Execute(writer, "INSERT INTO lock_probe VALUES (1)"); // waits at most one lock timeout, not for the reader
        }
        Assert.False(migrating.IsCompleted);

        await reading.CommitAsync();
        await migrating.WaitAsync(TimeSpan.FromSeconds(30));
        await using var check = new NpgsqlConnection(connectionString + ";Pooling=false");
        await check.OpenAsync();
        await Execute(check, "INSERT INTO lock_probe (id, note) VALUES (2, 'applied')");
    }

    private static async Task<bool> AlterWaitsForItsLockAsync(NpgsqlConnection connection)
    {
        await using var waiting = new NpgsqlCommand("""
            SELECT EXISTS (SELECT FROM pg_stat_activity
                           WHERE datname = current_database() AND pid <> pg_backend_pid()
                             AND wait_event_type = 'Lock' AND query LIKE '%ALTER TABLE lock_probe%')
            """, connection);
        return (bool)(await waiting.ExecuteScalarAsync())!;
    }

    private static async Task Execute(NpgsqlConnection connection, string sql, NpgsqlTransaction? transaction = null)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Every service database gets JIT off, for every connection any data source opens (why: PostgresSchema).</summary>
    [Fact]
    public async Task A_migrated_database_has_jit_compilation_off_for_new_connections()
    {
        var postgres = await TestServers.PostgresAsync();
        var connectionString = postgres.ConnectionString($"jit_off_{Guid.NewGuid():N}");

        await PostgresSchema.MigrateAsync(connectionString, typeof(EventBusExtensions).Assembly);

        await using var connection = new NpgsqlConnection(connectionString + ";Pooling=false");
        await connection.OpenAsync();
        await using var show = new NpgsqlCommand("SHOW jit", connection);
        Assert.Equal("off", await show.ExecuteScalarAsync());
    }

    private sealed class SchemaProbe(string connectionString) : IHostedService
    {
        public long ScriptsApplied { get; private set; }
        public string? Failure { get; private set; }

        public async Task StartAsync(CancellationToken cancellationToken)
        {
            try
            {
                await using var connection = new NpgsqlConnection(connectionString + ";Pooling=false");
                await connection.OpenAsync(cancellationToken);
                await using var count = new NpgsqlCommand("SELECT count(*) FROM schema_migrations", connection);
                ScriptsApplied = (long)(await count.ExecuteScalarAsync(cancellationToken))!;
            }
            catch (PostgresException e)
            {
                Failure = e.MessageText; // database or table missing: started too early
            }
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
