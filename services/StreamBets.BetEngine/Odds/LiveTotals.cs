using StackExchange.Redis;

namespace StreamBets.BetEngine.Odds;

/// <summary>
/// Live stakes per outcome in a Redis hash per pool ("s:{outcomeId}" = staked minor units, "n:{outcomeId}" = bets): the
/// fast read for odds displays. <see cref="OddsPublisher"/> writes it with the exact totals of each OddsChanged it
/// publishes, so it is as fresh as the odds (at most <see cref="BetEngineOptions.OddsInterval"/> behind) and costs a
/// batch nothing: writing it after every batch held the pool's next batch back 2-3 ms in a rush.
/// </summary>
public sealed class LiveTotals(IConnectionMultiplexer redis)
{
    /// <summary>Long enough for any pool's life and settlement; every write renews it.</summary>
    public static readonly TimeSpan KeepFor = TimeSpan.FromDays(7);

    /// <summary>
    /// Sets each field to the given value unless it holds a larger one. Totals only grow, so two replicas' publishers
    /// writing out of order can never move the hash back, and a write that failed is made good by the next one.
    /// ARGV: field, value, field, value, ..., then the time to keep the hash in milliseconds.
    /// </summary>
    private const string RaiseScript = """
        for i = 1, #ARGV - 1, 2 do
            if tonumber(ARGV[i + 1]) > (tonumber(redis.call('HGET', KEYS[1], ARGV[i])) or 0) then
                redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
            end
        end
        redis.call('PEXPIRE', KEYS[1], ARGV[#ARGV])
        """;

    public static RedisKey Key(Guid poolId) => $"betengine:pool-totals:{poolId}";

    /// <summary>Raises each pool's hash to the given totals (see <see cref="RaiseScript"/>), one pipelined script per pool.</summary>
    public async Task RaiseToAsync(IReadOnlyDictionary<Guid, List<(Guid OutcomeId, long StakedMinor, long BetCount)>> totals)
    {
        var batch = redis.GetDatabase().CreateBatch();
        var writes = new List<Task>(totals.Count);
        foreach (var (poolId, outcomes) in totals)
        {
            RedisValue[] arguments =
            [
                .. outcomes.SelectMany(o => new RedisValue[] { $"s:{o.OutcomeId}", o.StakedMinor, $"n:{o.OutcomeId}", o.BetCount }),
                (long)KeepFor.TotalMilliseconds,
            ];
            // EVAL, never the script's hash alone: after a Redis restart or failover the client retries an unknown hash
            // as a new command, which a batch already sent never sends, and this write would wait for ever.
            writes.Add(batch.ScriptEvaluateAsync(RaiseScript, [Key(poolId)], arguments, CommandFlags.NoScriptCache));
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
