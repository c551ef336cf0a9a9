using Npgsql;

namespace StreamBets.Testing;

/// <summary>Stops the steps of a race where a test wants them, with PostgreSQL's own locks instead of sleeps.</summary>
public static class PostgresRaceSteps
{
    /// <summary>
    /// Advisory lock namespace of paused writes: none of the services' own lock classes, and each pause takes a key of
    /// its own in it (a test database belongs to one fixture, and advisory locks are per database).
    /// </summary>
    public const int PauseLockClass = 4242;

    /// <summary>How long a step may take to finish or to wait on a lock.</summary>
    public static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Holds every <paramref name="operation"/> (INSERT or UPDATE) on <paramref name="table"/> whose row matches
    /// <paramref name="when"/> (a trigger condition on NEW, and OLD for an update) inside its transaction, before the row
    /// is written (and before its foreign keys are checked), until released: the statements before it in that
    /// transaction (a row lock taken first) have run, the rest wait.
    /// </summary>
    public static async Task<WritePause> PauseWritesAsync(string connectionString, string table, string when, string operation)
    {
        var name = $"pause_{Guid.NewGuid():N}";
        var key = Random.Shared.Next();
        var holder = new NpgsqlConnection(connectionString);
        await holder.OpenAsync();
        await using (var hold = new NpgsqlCommand($"SELECT pg_advisory_lock({PauseLockClass}, {key})", holder))
        {
            await hold.ExecuteNonQueryAsync();
        }
        await ExecuteAsync(connectionString, $"""
            CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM pg_advisory_xact_lock_shared({PauseLockClass}, {key}); RETURN NEW; END $$;
            CREATE TRIGGER {name} BEFORE {operation} ON {table} FOR EACH ROW WHEN ({when}) EXECUTE FUNCTION {name}();
            """);
        return new WritePause(connectionString, holder, name, table, key);
    }

    /// <inheritdoc cref="PauseWritesAsync(string, string, string, string)"/>
    public static Task<WritePause> PauseWritesAsync(this IPostgresTestDatabase database, string table, string when, string operation) =>
        PauseWritesAsync(database.ConnectionString, table, when, operation);

    /// <summary>
    /// Returns once <paramref name="step"/> has finished, or a backend of the database that matches
    /// <paramref name="where"/> (a condition on pg_stat_activity) waits on a lock: the step got as far as it can.
    /// Throws if neither happens within <paramref name="within"/> (<see cref="StepTimeout"/> unless told).
    /// </summary>
    public static async Task BlockedOrDoneAsync(string connectionString, Task step, string where, TimeSpan? within = null)
    {
        var reached = await Eventually.HoldsAsync(async () => step.IsCompleted || await WaitsOnALockAsync(connectionString, where), within ?? StepTimeout);
        if (!reached)
        {
            throw new TimeoutException($"Neither done nor waiting on a lock: {where}");
        }
    }

    /// <inheritdoc cref="BlockedOrDoneAsync(string, Task, string, TimeSpan?)"/>
    public static Task BlockedOrDoneAsync(this IPostgresTestDatabase database, Task step, string where, TimeSpan? within = null) =>
        BlockedOrDoneAsync(database.ConnectionString, step, where, within);

    private static async Task<bool> WaitsOnALockAsync(string connectionString, string where)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"""
            SELECT EXISTS (SELECT 1 FROM pg_stat_activity
                           WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid() AND ({where}))
            """, connection);
        return (bool)(await command.ExecuteScalarAsync())!;
    }

    internal static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}

/// <summary>Writes held by <see cref="PostgresRaceSteps.PauseWritesAsync(string, string, string, string)"/>; dispose to drop the trigger.</summary>
public sealed class WritePause(string connectionString, NpgsqlConnection holder, string name, string table, int key) : IAsyncDisposable
{
    /// <summary>
    /// Returns once a paused write waits on this pause's lock (or the step that would make one has finished): not on
    /// any advisory lock, which the services take too (the Pools read models', a channel link's, a deposit's).
    /// </summary>
    public Task HeldAsync(Task step) => PostgresRaceSteps.BlockedOrDoneAsync(connectionString, step, $"""
        EXISTS (SELECT 1 FROM pg_locks AS l
                WHERE l.pid = pg_stat_activity.pid AND l.locktype = 'advisory' AND NOT l.granted
                  AND l.classid = {PostgresRaceSteps.PauseLockClass} AND l.objid = {key} AND l.objsubid = 2)
        """);

    /// <summary>Lets the held writes (and any later ones) through.</summary>
    public async Task ReleaseAsync()
    {
        await using var release = new NpgsqlCommand("SELECT pg_advisory_unlock_all()", holder);
        await release.ExecuteNonQueryAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await ReleaseAsync(); // a pooled connection would keep its session's lock
        await holder.DisposeAsync();
        await PostgresRaceSteps.ExecuteAsync(connectionString, $"DROP TRIGGER {name} ON {table}; DROP FUNCTION {name}();");
    }
}
