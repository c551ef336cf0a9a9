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
    public const int PlayerScoresClass = 7303;

    public static (int Class, int Key) Leaderboards => (LeaderboardsClass, 0);

    public static (int Class, int Key) PoolStakes(Guid poolId) => (PoolStakesClass, poolId.GetHashCode());

    /// <summary>
    /// The scores of one bucket of players. A player's settled bets arrive on several partitions (one per pool) at once;
    /// taken exclusively, it makes each handler read the sums after the other's commit, so the last score written to
    /// Redis is the full sum. Buckets, not players: a transaction that handled several 1,000-bet events held a lock per
    /// player and filled PostgreSQL's shared lock table ("out of shared memory" for every database on the server while
    /// a big pool settled). With buckets a transaction holds at most <see cref="PlayerScoreBuckets"/> of them.
    /// </summary>
    public static (int Class, int Key) PlayerScores(Guid userId) => (PlayerScoresClass, userId.GetHashCode() & (PlayerScoreBuckets - 1));

    public const int PlayerScoreBuckets = 256;

    public static NpgsqlBatchCommand Exclusive((int Class, int Key) lockId) =>
        new("SELECT pg_advisory_xact_lock($1, $2)") { Parameters = { new() { Value = lockId.Class }, new() { Value = lockId.Key } } };

    /// <summary>Every key of one class, taken in the order given: callers pass them sorted, so lockers never deadlock.</summary>
    public static NpgsqlBatchCommand ExclusiveAll(int lockClass, int[] sortedKeys) =>
        new("SELECT pg_advisory_xact_lock($1, k) FROM unnest($2::int[]) AS k")
        {
            Parameters = { new() { Value = lockClass }, new() { Value = sortedKeys } },
        };

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
