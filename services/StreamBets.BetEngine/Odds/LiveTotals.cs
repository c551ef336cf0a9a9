using StackExchange.Redis;
using StreamBets.BetEngine.Placement;

namespace StreamBets.BetEngine.Odds;

/// <summary>
/// Live stakes per outcome in a Redis hash per pool ("s:{outcomeId}" = staked minor units, "n:{outcomeId}" = bets),
/// incremented once per batch with one pipelined HINCRBY per outcome, never per bet. The exact figures are in betsdb's
/// pool_outcome_totals (and in OddsChanged); this hash is the fast read for odds displays.
/// </summary>
public sealed class LiveTotals(IConnectionMultiplexer redis)
{
    /// <summary>Long enough for any pool's life and settlement; every increment renews it.</summary>
    public static readonly TimeSpan KeepFor = TimeSpan.FromDays(7);

    public static RedisKey Key(Guid poolId) => $"betengine:pool-totals:{poolId}";

    public async Task AddAsync(IReadOnlyCollection<PendingBet> accepted)
    {
        if (accepted.Count == 0)
        {
            return;
        }

        var database = redis.GetDatabase();
        var batch = database.CreateBatch();
        var writes = new List<Task>();
        foreach (var pool in accepted.GroupBy(b => b.PoolId))
        {
            var key = Key(pool.Key);
            foreach (var outcome in pool.GroupBy(b => b.OutcomeId))
            {
                writes.Add(batch.HashIncrementAsync(key, $"s:{outcome.Key}", outcome.Sum(b => b.StakeMinor)));
                writes.Add(batch.HashIncrementAsync(key, $"n:{outcome.Key}", outcome.Count()));
            }
            writes.Add(batch.KeyExpireAsync(key, KeepFor));
        }
        batch.Execute();
        await Task.WhenAll(writes);
    }

    /// <summary>Stakes and bet counts per outcome; outcomes nobody backed are absent.</summary>
    public async Task<IReadOnlyDictionary<Guid, (long StakedMinor, long BetCount)>> GetAsync(Guid poolId)
    {
        var totals = new Dictionary<Guid, (long, long)>();
        foreach (var entry in await redis.GetDatabase().HashGetAllAsync(Key(poolId)))
        {
            var name = entry.Name.ToString();
            if (name.Length > 2 && Guid.TryParse(name.AsSpan(2), out var outcomeId))
            {
                var (staked, count) = totals.GetValueOrDefault(outcomeId);
                totals[outcomeId] = name[0] == 's' ? ((long)entry.Value, count) : (staked, (long)entry.Value);
            }
        }
        return totals;
    }
}
