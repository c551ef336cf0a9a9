using Npgsql;

namespace StreamBets.Pools.Data;

/// <summary>
/// Keeps the Redis read models (stakes hashes, leaderboards) from going stale when they are rebuilt while events arrive.
/// An event handler holds the read model's lock from its PostgreSQL write until its transaction ends, writing Redis in
/// between; a rebuild holds it exclusively while it reads PostgreSQL and writes Redis. So a rebuild sees every write
/// whose Redis update it could overwrite, and a later handler writes after the rebuild.
/// PostgreSQL transaction-level advisory locks: released at commit or rollback, never leaked.
/// </summary>
public static class ReadModelLocks
{
    private const int LeaderboardsClass = 7301;
    private const int PoolStakesClass = 7302;

    /// <summary>
    /// Every board and every player's scores. Settled bets take it exclusively too, not shared: a player's bets settle
    /// on several partitions (one per pool) at once, and each handler must read the sums after the other's commit, so
    /// the last score written to Redis is the full sum. One lock, not one per player or bucket of players: a group
    /// commit applies many BetsSettled events in one transaction, so locks sorted per event were taken out of order
    /// across events and two transactions deadlocked (40P01, an attempt lost). A 1,000-bet event held nearly every
    /// one of the 256 buckets, so they bought no concurrency where it mattered, and one lock per player filled
    /// PostgreSQL's shared lock table ("out of shared memory" while a big pool settled).
    /// </summary>
    public static (int Class, int Key) Leaderboards => (LeaderboardsClass, 0);

    public static (int Class, int Key) PoolStakes(Guid poolId) => (PoolStakesClass, poolId.GetHashCode());

    public static NpgsqlBatchCommand Exclusive((int Class, int Key) lockId) =>
        new("SELECT pg_advisory_xact_lock($1, $2)") { Parameters = { new() { Value = lockId.Class }, new() { Value = lockId.Key } } };

    public static NpgsqlBatchCommand Shared((int Class, int Key) lockId) =>
        new("SELECT pg_advisory_xact_lock_shared($1, $2)") { Parameters = { new() { Value = lockId.Class }, new() { Value = lockId.Key } } };

    /// <summary>Takes the lock exclusively if nobody holds it, without waiting: true if taken.</summary>
    public static async Task<bool> TryExclusiveAsync(NpgsqlTransaction transaction, (int Class, int Key) lockId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT pg_try_advisory_xact_lock($1, $2)", transaction.Connection, transaction);
        command.Parameters.AddWithValue(lockId.Class);
        command.Parameters.AddWithValue(lockId.Key);
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }
}
