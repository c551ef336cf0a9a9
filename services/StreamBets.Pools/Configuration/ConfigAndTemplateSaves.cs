using Npgsql;

namespace StreamBets.Pools.Configuration;

/// <summary>
/// One configuration change or template save at a time, across replicas. A configuration change is checked against
/// every stored template and a template save against the stored configuration, each before it writes its own document:
/// run at once, both could pass and together store a template no pool can open from. The documents may live in MongoDB,
/// outside any poolsdb transaction, so an advisory lock in poolsdb (always there) orders the two check-then-writes.
/// </summary>
public static class ConfigAndTemplateSaves
{
    // Two-key advisory locks of poolsdb: ReadModelLocks use classes 7301 and 7302, ChannelOwners 7304 (one-key locks,
    // such as the outbox relay's, are a separate key space). One key: every such save conflicts with a configuration change.
    public const int LockClass = 7305;
    private const int LockKey = 0;

    /// <summary>How long a save waits for another admin's before it gives up (the admin is told to try again).</summary>
    public static readonly TimeSpan WaitAtMost = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Waits for this replica's turn, at most <see cref="WaitAtMost"/>; the turn lasts until the answer is disposed.
    /// Null when the wait timed out. A transaction-level lock, not a session one: ending the transaction (or losing the
    /// connection) always releases it, where a session lock missed by a failed unlock would stay on a pooled connection.
    /// </summary>
    public static async Task<Turn?> WaitForTurnAsync(NpgsqlDataSource db, CancellationToken cancellationToken)
    {
        var connection = await db.OpenConnectionAsync(cancellationToken);
        try
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using var wait = new NpgsqlBatch(connection, transaction)
            {
                BatchCommands =
                {
                    new($"SET LOCAL lock_timeout = {(int)WaitAtMost.TotalMilliseconds}"),
                    new("SELECT pg_advisory_xact_lock($1, $2)") { Parameters = { new() { Value = LockClass }, new() { Value = LockKey } } },
                },
            };
            await wait.ExecuteNonQueryAsync(cancellationToken);
            return new Turn(connection, transaction);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.LockNotAvailable)
        {
            await connection.DisposeAsync();
            return null;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Holds the lock; disposing it rolls back the (empty) transaction, which releases the lock.</summary>
    public sealed class Turn(NpgsqlConnection connection, NpgsqlTransaction transaction) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await transaction.DisposeAsync();
            await connection.DisposeAsync();
        }
    }
}
