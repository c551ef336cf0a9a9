namespace StreamBets.Testing;

/// <summary>A test app with a PostgreSQL database of its own, which the shared race steps and faults work on.</summary>
public interface IPostgresTestDatabase
{
    string ConnectionString { get; }
}
