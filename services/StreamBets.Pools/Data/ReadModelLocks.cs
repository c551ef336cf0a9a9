using Npgsql;

namespace StreamBets.Pools.Data;

/// <summary>
/// Keeps the Redis read models (stakes hashes, leaderboards) from going stale when they are rebuilt while events arrive.
/// An event handler holds the read model's lock shared from its PostgreSQL write until its transaction ends, writing
/// Redis in between; a rebuild holds it exclusively while it reads PostgreSQL and writes Redis. So a rebuild sees
/// every write whose Redis update it could overwrite, and a later handler writes after the rebuild.
/// PostgreSQL transaction-level advisory locks: released at commit or rollback, never leaked.
/// </summary>
public static class ReadModelLocks
{
    private const int LeaderboardsClass = 7301;
    private const int PoolStakesClass = 7302;

    public static (int Class, int Key) Leaderboards => (LeaderboardsClass, 0);

    public static (int Class, int Key) PoolStakes(Guid poolId) => (PoolStakesClass, poolId.GetHashCode());

    public static NpgsqlBatchCommand Shared((int Class, int Key) lockId) =>
        new("SELECT pg_advisory_xact_lock_shared($1, $2)") { Parameters = { new() { Value = lockId.Class }, new() { Value = lockId.Key } } };

    public static async Task ExclusiveAsync(NpgsqlTransaction transaction, (int Class, int Key) lockId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1, $2)", transaction.Connection, transaction);
        command.Parameters.AddWithValue(lockId.Class);
        command.Parameters.AddWithValue(lockId.Key);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
