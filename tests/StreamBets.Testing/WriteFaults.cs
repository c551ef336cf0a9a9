using Npgsql;

namespace StreamBets.Testing;

/// <summary>Database errors on chosen writes, raised by a trigger the way PostgreSQL raises its own, for failure-path tests.</summary>
public static class WriteFaults
{
    /// <summary>
    /// Every <paramref name="operation"/> (INSERT or UPDATE) of a <paramref name="table"/> row matching
    /// <paramref name="condition"/> (SQL over NEW, and OLD for an UPDATE) fails with <paramref name="message"/> and the
    /// SQLSTATE <paramref name="sqlState"/> (P0001, raise_exception, unless told): only the first <paramref name="times"/>
    /// of them, or all until disposed. Dispose to remove the fault.
    /// </summary>
    public static async Task<InjectedFault> FailWritesAsync(
        string connectionString, string operation, string table, string condition,
        string message = "injected fault", string sqlState = PostgresErrorCodes.RaiseException, int? times = null)
    {
        // A sequence counts the matches: nextval is not rolled back with the failed transaction.
        var name = $"fault_{Guid.NewGuid():N}";
        await PostgresRaceSteps.ExecuteAsync(connectionString, $"""
            CREATE SEQUENCE {name};
            CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF nextval('{name}') <= {times ?? long.MaxValue} THEN
                    RAISE EXCEPTION '{message.Replace("'", "''", StringComparison.Ordinal)}' USING ERRCODE = '{sqlState}';
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER {name} BEFORE {operation} ON {table} FOR EACH ROW WHEN ({condition}) EXECUTE FUNCTION {name}();
            """);
        return new InjectedFault(connectionString, name, table);
    }

    /// <inheritdoc cref="FailWritesAsync(string, string, string, string, string, string, int?)"/>
    public static Task<InjectedFault> FailWritesAsync(
        this IPostgresTestDatabase database, string operation, string table, string condition,
        string message = "injected fault", string sqlState = PostgresErrorCodes.RaiseException, int? times = null) =>
        FailWritesAsync(database.ConnectionString, operation, table, condition, message, sqlState, times);
}

/// <summary>A fault from <see cref="WriteFaults"/>; dispose to drop its trigger.</summary>
public sealed class InjectedFault(string connectionString, string name, string table) : IAsyncDisposable
{
    /// <summary>Whether the fault has fired.</summary>
    public async Task<bool> FiredAsync()
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT is_called FROM {name}", connection);
        return (bool)(await command.ExecuteScalarAsync())!;
    }

    public async ValueTask DisposeAsync() =>
        await PostgresRaceSteps.ExecuteAsync(connectionString, $"DROP TRIGGER {name} ON {table}; DROP FUNCTION {name}(); DROP SEQUENCE {name};");
}
