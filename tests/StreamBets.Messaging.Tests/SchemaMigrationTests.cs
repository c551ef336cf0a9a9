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
