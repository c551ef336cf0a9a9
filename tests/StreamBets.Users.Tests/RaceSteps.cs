using Npgsql;

namespace StreamBets.Users.Tests;

/// <summary>Stops the steps of a race where a test wants them, with PostgreSQL's own locks instead of sleeps.</summary>
public static class RaceSteps
{
    /// <summary>
    /// Holds every <paramref name="operation"/> (UPDATE or INSERT) on <paramref name="table"/> whose row matches
    /// <paramref name="when"/> (a trigger condition on NEW, and OLD for an update) inside its transaction, before the row
    /// is written (and before its foreign keys are checked), until released: the statements before it in that
    /// transaction (a row lock taken first) have run, the rest wait.
    /// </summary>
    public static async Task<WritePause> PauseWritesAsync(this AccountsTestApp app, string table, string when, string operation = "UPDATE")
    {
        var name = $"pause_{Guid.NewGuid():N}";
        var key = Random.Shared.Next();
        var holder = new NpgsqlConnection(app.ConnectionString);
        await holder.OpenAsync();
        await using (var hold = new NpgsqlCommand($"SELECT pg_advisory_lock({WritePause.LockClass}, {key})", holder))
        {
            await hold.ExecuteNonQueryAsync();
        }
        await app.ScalarAsync<object>($"""
            CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM pg_advisory_xact_lock_shared({WritePause.LockClass}, {key}); RETURN NEW; END $$;
            CREATE TRIGGER {name} BEFORE {operation} ON {table} FOR EACH ROW WHEN ({when}) EXECUTE FUNCTION {name}();
            """);
        return new WritePause(app, holder, name, table);
    }

    /// <summary>
    /// Returns once <paramref name="step"/> has finished, or a backend of the app's database that matches
    /// <paramref name="where"/> (a condition on pg_stat_activity) waits on a lock: the step got as far as it can.
    /// </summary>
    public static async Task BlockedOrDoneAsync(this AccountsTestApp app, Task step, string where)
    {
        for (var attempt = 0; attempt < 300; attempt++)
        {
            if (step.IsCompleted || await app.ScalarAsync<bool>($"""
                SELECT EXISTS (SELECT 1 FROM pg_stat_activity
                               WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid() AND ({where}))
                """))
            {
                return;
            }
            await Task.Delay(100);
        }
        Assert.Fail($"Neither done nor waiting on a lock: {where}");
    }
}

public sealed class WritePause(AccountsTestApp app, NpgsqlConnection holder, string name, string table) : IAsyncDisposable
{
    internal const int LockClass = 4343;

    /// <summary>Returns once a paused write waits (or the step that would make one has finished).</summary>
    public Task HeldAsync(Task step) => app.BlockedOrDoneAsync(step, "wait_event = 'advisory'");

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
        await app.ScalarAsync<object>($"DROP TRIGGER {name} ON {table}; DROP FUNCTION {name}();");
    }
}
