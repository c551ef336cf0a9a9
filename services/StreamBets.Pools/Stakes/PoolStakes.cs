using Npgsql;
using StackExchange.Redis;
using StreamBets.Pools.Data;

namespace StreamBets.Pools.Stakes;

/// <summary>
/// Per-outcome stakes for display and live odds: a Redis hash per pool ("s:{outcome}" = staked minor units,
/// "n:{outcome}" = bets). PostgreSQL's pool_outcomes holds the exact counts (updated in the BetsPlaced inbox transaction);
/// the hash is written with those absolute values, so a redelivered event can never count twice, and it is refilled
/// from PostgreSQL when Redis lost it, and read from there while Redis does not answer.
/// </summary>
public sealed class PoolStakes(IConnectionMultiplexer redis, PoolStore store, NpgsqlDataSource database, TimeProvider time)
{
    /// <summary>After Redis failed a read, how long reads go straight to PostgreSQL: a list of 200 pools must not wait
    /// out Redis's timeout once per pool.</summary>
    private static readonly TimeSpan RedisRestsFor = TimeSpan.FromSeconds(5);

    private long _redisRestsUntilTicks;

    /// <summary>Long enough for any pool's life plus its settlement; every write renews it.</summary>
    public static readonly TimeSpan KeepFor = TimeSpan.FromDays(7);

    public static RedisKey Key(Guid poolId) => $"pools:stakes:{poolId}";

    /// <summary>The stakes of each of the given outcomes, in their order; outcomes nobody backed hold zero.</summary>
    public async Task<IReadOnlyList<OutcomeStakeRow>> GetAsync(Guid poolId, IReadOnlyList<Guid> outcomeIds, CancellationToken cancellationToken)
    {
        // Redis holds only a copy. Without it a pool read (and the answer to a lock, resolve or cancel that already
        // committed) would fail: a 500 for a change that was made. PostgreSQL has the exact totals.
        if (time.GetUtcNow().UtcTicks < Interlocked.Read(ref _redisRestsUntilTicks))
        {
            return await store.StakesAsync(poolId, transaction: null, cancellationToken);
        }
        HashEntry[] entries;
        try
        {
            entries = await redis.GetDatabase().HashGetAllAsync(Key(poolId));
        }
        catch (Exception e) when (IsRedisFailure(e))
        {
            RestRedis();
            return await store.StakesAsync(poolId, transaction: null, cancellationToken);
        }
        if (entries.Length == 0)
        {
            // Refill under the pool's stakes lock, so a bet counted meanwhile cannot be overwritten by an older total. Only
            // a reader that gets it at once refills; the others read PostgreSQL and go. Waiting, every viewer of a hot pool
            // whose hash Redis lost (a restart drops them all) held a connection in the lock's queue and refilled in turn,
            // and the BetsPlaced handler's shared lock queued behind them.
            await using var connection = await database.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            if (!await ReadModelLocks.TryExclusiveAsync(transaction, ReadModelLocks.PoolStakes(poolId), cancellationToken))
            {
                return await store.StakesAsync(poolId, transaction, cancellationToken);
            }
            var stored = await store.StakesAsync(poolId, transaction, cancellationToken);
            try
            {
                await WriteAsync(poolId, stored);
            }
            catch (Exception e) when (IsRedisFailure(e))
            {
                RestRedis(); // a Redis that reads but refuses writes (out of memory, a read-only replica): the totals are here
            }
            await transaction.CommitAsync(cancellationToken);
            return stored;
        }

        var values = entries.ToDictionary(e => e.Name.ToString(), e => (long)e.Value);
        return [.. outcomeIds.Select(id => new OutcomeStakeRow(id, values.GetValueOrDefault($"s:{id}"), (int)values.GetValueOrDefault($"n:{id}")))];
    }

    private static bool IsRedisFailure(Exception e) => e is RedisException or RedisTimeoutException;

    private void RestRedis() => Interlocked.Exchange(ref _redisRestsUntilTicks, (time.GetUtcNow() + RedisRestsFor).UtcTicks);

    /// <summary>
    /// Writes the new totals of the outcomes a batch of bets changed, into the hash only if it is there. Were Redis to
    /// have lost it, these outcomes alone would make a hash the next read takes as whole, showing every other outcome
    /// at zero; left missing, that read refills all of them from PostgreSQL instead.
    /// </summary>
    public Task UpdateAsync(Guid poolId, IReadOnlyCollection<OutcomeStakeRow> rows) =>
        redis.GetDatabase().ScriptEvaluateAsync(UpdateIfPresentScript, [Key(poolId)],
            [(long)KeepFor.TotalSeconds, .. rows.SelectMany(r => new RedisValue[] { $"s:{r.OutcomeId}", r.StakedMinor, $"n:{r.OutcomeId}", r.BetCount })]);

    private const string UpdateIfPresentScript = """
        if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        redis.call('HSET', KEYS[1], unpack(ARGV, 2))
        redis.call('EXPIRE', KEYS[1], ARGV[1])
        return 1
        """;

    private async Task WriteAsync(Guid poolId, IReadOnlyCollection<OutcomeStakeRow> rows)
    {
        var database = redis.GetDatabase();
        var fields = rows.SelectMany(r => new[] { new HashEntry($"s:{r.OutcomeId}", r.StakedMinor), new HashEntry($"n:{r.OutcomeId}", r.BetCount) }).ToArray();
        var batch = database.CreateBatch();
        var set = batch.HashSetAsync(Key(poolId), fields);
        var expire = batch.KeyExpireAsync(Key(poolId), KeepFor);
        batch.Execute();
        await Task.WhenAll(set, expire);
    }
}
