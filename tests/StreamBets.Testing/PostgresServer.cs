using System.Diagnostics;
using Npgsql;

namespace StreamBets.Testing;

/// <summary>PostgreSQL 15 from the machine's packages, started with the AppHost's own local-mode script.</summary>
public sealed class PostgresServer() : LocalServer("postgres")
{
    public string ConnectionString(string database = "postgres") =>
        $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Maximum Pool Size=50";

    protected override ProcessStartInfo StartInfo() =>
        new("bash", [ScriptPath("postgres.sh"), Path.Combine(DataDirectory, "data"), Port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);

    protected override async Task<bool> AnswersAsync()
    {
        try
        {
            await using var connection = new NpgsqlConnection(ConnectionString() + ";Pooling=false;Timeout=2");
            await connection.OpenAsync();
            return true;
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            return false;
        }
    }

    /// <summary>A fresh, empty database with a unique name, so test classes never see each other's rows.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix)
    {
        var name = $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 33, 63)].ToLowerInvariant();
        await using var connection = new NpgsqlConnection(ConnectionString() + ";Pooling=false");
        await connection.OpenAsync();
        await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await create.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }
}
