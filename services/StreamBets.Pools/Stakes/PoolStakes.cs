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
public sealed class PoolStakes(IConnectionMultiplexer redis, NpgsqlDataSource database, TimeProvider time)
{
    /// <summary>After Redis failed a read, how long reads go straight to PostgreSQL: a list of 200 pools must not wait
    /// out Redis's timeout once per pool.</summary>
    private static readonly TimeSpan RedisRestsFor = TimeSpan.FromSeconds(5);

    private long _redisRestsUntilTicks;

    /// <summary>Long enough for any pool's life plus its settlement; every write renews it.</summary>
    public static readonly TimeSpan KeepFor = TimeSpan.FromDays(7);

    public static RedisKey Key(Guid poolId) => $"pools:stakes:{poolId}";

    /// <summary>The stakes of each of the given outcomes, in their order; outcomes nobody backed hold zero.</summary>
    public async Task<IReadOnlyList<OutcomeStakeRow>> GetAsync(Guid poolId, IReadOnlyList<Guid> outcomeIds, CancellationToken cancellationToken) =>
        (await GetManyAsync([(poolId, outcomeIds)], cancellationToken))[0];

    /// <summary>
    /// <see cref="GetAsync"/> for several pools, in their order, at the cost of one: one Redis round trip for the hashes,
    /// and one PostgreSQL round trip for those Redis lost (finished pools' hashes expire), not one of each per pool.
    /// </summary>
    public async Task<IReadOnlyList<IReadOnlyList<OutcomeStakeRow>>> GetManyAsync(
        IReadOnlyList<(Guid PoolId, IReadOnlyList<Guid> OutcomeIds)> pools, CancellationToken cancellationToken)
    {
        // Redis holds only a copy. Without it a pool read (and the answer to a lock, resolve or cancel that already
        // committed) would fail: a 500 for a change that was made. PostgreSQL has the exact totals.
        if (time.GetUtcNow().UtcTicks < Interlocked.Read(ref _redisRestsUntilTicks))
        {
            return InOrder(pools, await ReadStoredAsync(pools.Select(p => p.PoolId).ToArray(), cancellationToken));
        }
        HashEntry[][] hashes;
        try
        {
            var batch = redis.GetDatabase().CreateBatch();
            var reads = pools.Select(p => batch.HashGetAllAsync(Key(p.PoolId))).ToArray();
            batch.Execute();
            hashes = await Task.WhenAll(reads);
        }
        catch (Exception e) when (IsRedisFailure(e))
        {
            RestRedis();
            return InOrder(pools, await ReadStoredAsync(pools.Select(p => p.PoolId).ToArray(), cancellationToken));
        }

        var missing = pools.Where((_, i) => hashes[i].Length == 0).Select(p => p.PoolId).ToArray();
        var refilled = missing.Length == 0 ? new() : await RefillAsync(missing, cancellationToken);
        return [.. pools.Select((p, i) => hashes[i].Length == 0 ? InOrder(p.OutcomeIds, refilled.GetValueOrDefault(p.PoolId)) : FromHash(p.OutcomeIds, hashes[i]))];
    }

    /// <summary>
    /// Reads the pools' totals from PostgreSQL and writes them to Redis, each under its pool's stakes lock, so a bet
    /// counted meanwhile cannot be overwritten by an older total. Only a reader that gets a pool's lock at once refills
    /// it; for the others it reads PostgreSQL and goes. Waiting, every viewer of a hot pool whose hash Redis lost (a
    /// restart drops them all) held a connection in the lock's queue and refilled in turn, and the BetsPlaced
    /// handler's shared lock queued behind them.
    /// </summary>
    private async Task<Dictionary<Guid, Dictionary<Guid, OutcomeStakeRow>>> RefillAsync(Guid[] poolIds, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var locks = poolIds.Select(ReadModelLocks.PoolStakes).ToArray();
        // The totals are read by the second statement, after the locks are taken: its snapshot (read committed) then
        // holds every bet whose handler held a lock this refill got.
        await using var batch = new NpgsqlBatch(connection, transaction)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand("SELECT id FROM unnest($1::uuid[], $2::int[], $3::int[]) AS l(id, class, key) WHERE pg_try_advisory_xact_lock(l.class, l.key)")
                {
                    Parameters = { new() { Value = poolIds }, new() { Value = locks.Select(l => l.Class).ToArray() }, new() { Value = locks.Select(l => l.Key).ToArray() } },
                },
                new NpgsqlBatchCommand(StakesSql) { Parameters = { new() { Value = poolIds } } },
            },
        };
        var locked = new List<Guid>();
        Dictionary<Guid, Dictionary<Guid, OutcomeStakeRow>> stored;
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                locked.Add(reader.GetGuid(0));
            }
            await reader.NextResultAsync(cancellationToken);
            stored = await ReadRowsAsync(reader, cancellationToken);
        }

        try
        {
            var redisDb = redis.GetDatabase();
            // Sent together, awaited together: one round trip for every hash refilled.
            await Task.WhenAll(locked.Where(stored.ContainsKey).Select(id => WriteAsync(redisDb, id, stored[id].Values)));
        }
        catch (Exception e) when (IsRedisFailure(e))
        {
            RestRedis(); // a Redis that reads but refuses writes (out of memory, a read-only replica): the totals are here
        }
        await transaction.CommitAsync(cancellationToken);
        return stored;
    }

    private const string StakesSql = "SELECT pool_id, id, staked_minor, bet_count FROM pool_outcomes WHERE pool_id = ANY($1)";

    private async Task<Dictionary<Guid, Dictionary<Guid, OutcomeStakeRow>>> ReadStoredAsync(Guid[] poolIds, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(StakesSql);
        command.Parameters.AddWithValue(poolIds);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await ReadRowsAsync(reader, cancellationToken);
    }

    private static async Task<Dictionary<Guid, Dictionary<Guid, OutcomeStakeRow>>> ReadRowsAsync(NpgsqlDataReader reader, CancellationToken cancellationToken)
    {
        var byPool = new Dictionary<Guid, Dictionary<Guid, OutcomeStakeRow>>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var poolId = reader.GetGuid(0);
            if (!byPool.TryGetValue(poolId, out var outcomes))
            {
                byPool[poolId] = outcomes = [];
            }
            var row = new OutcomeStakeRow(reader.GetGuid(1), reader.GetInt64(2), reader.GetInt32(3));
            outcomes[row.OutcomeId] = row;
        }

        return byPool;
    }

    private static IReadOnlyList<IReadOnlyList<OutcomeStakeRow>> InOrder(
        IReadOnlyList<(Guid PoolId, IReadOnlyList<Guid> OutcomeIds)> pools, Dictionary<Guid, Dictionary<Guid, OutcomeStakeRow>> stored) =>
        [.. pools.Select(p => InOrder(p.OutcomeIds, stored.GetValueOrDefault(p.PoolId)))];

    private static IReadOnlyList<OutcomeStakeRow> InOrder(IReadOnlyList<Guid> outcomeIds, Dictionary<Guid, OutcomeStakeRow>? stored) =>
        [.. outcomeIds.Select(id => stored?.GetValueOrDefault(id) ?? new OutcomeStakeRow(id, 0, 0))];

    private static IReadOnlyList<OutcomeStakeRow> FromHash(IReadOnlyList<Guid> outcomeIds, HashEntry[] entries)
    {
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

    /// <summary>
    /// HSET and EXPIRE in one MULTI: pipelined, a connection lost between them left a hash that never expired. Not a
    /// script: a command a script's caller may not run fails after the ones before it ran; MULTI refuses them all.
    /// </summary>
    private static async Task WriteAsync(IDatabase redisDb, Guid poolId, IEnumerable<OutcomeStakeRow> rows)
    {
        var fields = rows.SelectMany(r => new[] { new HashEntry($"s:{r.OutcomeId}", r.StakedMinor), new HashEntry($"n:{r.OutcomeId}", r.BetCount) }).ToArray();
        var write = redisDb.CreateTransaction();
        var set = write.HashSetAsync(Key(poolId), fields);
        var expire = write.KeyExpireAsync(Key(poolId), KeepFor);
        await write.ExecuteAsync();
        await Task.WhenAll(set, expire);
    }
}
