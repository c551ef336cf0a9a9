using Microsoft.Extensions.DependencyInjection;
using StreamBets.Testing;
using System.Text.Json;

namespace StreamBets.Settlement.Tests;

/// <summary>Pools settled end to end: PoolResolved/PoolCancelled on the bus, bets from the Bet Engine, payouts from Pools,
/// money through the ledger. Every balance is checked against figures worked out by hand.</summary>
[Collection(StackCollection.Name)]
public sealed class SettlementTests(SettlementStack stack)
{
    private const long Funds = 10_000;

    [Fact]
    public async Task Winners_share_the_net_pool_and_the_house_gets_the_rake_and_the_breakage()
    {
        var pool = await stack.NewPoolAsync(outcomes: 3);
        Assert.Equal(500, pool.RakeBasisPoints); // the figures below assume a 5 % rake
        var (a, b, c, d) = await FourPlayersAsync();
        var bets = await stack.PlaceAsync(pool.Id,
            [(a, pool.Outcomes[0], 1_000), (b, pool.Outcomes[0], 3_000), (c, pool.Outcomes[1], 2_500), (d, pool.Outcomes[2], 1_501)]);
        var house = await HouseAsync();

        await stack.LockAsync(pool.Id);
        await stack.ResolveAsync(pool.Id, pool.Outcomes[0]);
        await stack.WaitSettledAsync(pool.Id);

        // T = 8,001; rake = floor(8,001 * 5 %) = 400; net = 7,601; W = 4,000.
        // a: floor(1,000 * 7,601 / 4,000) = 1,900; b: floor(3,000 * 7,601 / 4,000) = 5,700; breakage = 7,601 - 7,600 = 1.
        await AssertBalancesAsync(pool, (a, Funds - 1_000 + 1_900), (b, Funds - 3_000 + 5_700), (c, Funds - 2_500), (d, Funds - 1_501));
        Assert.Equal((house.Rake + 400, house.Breakage + 1), await HouseAsync());
        await AssertBetSettledOnceEachAsync(pool, bets, ("won", 1_900), ("won", 5_700), ("lost", 0), ("lost", 0));
        var settled = await AssertPoolSettledOnceAsync(pool);
        Assert.Equal((8_001L, 7_600L, 400L, 1L, 2, 0),
            (settled.GetProperty("totalMinor").GetInt64(), settled.GetProperty("paidOutMinor").GetInt64(), settled.GetProperty("rakeMinor").GetInt64(),
             settled.GetProperty("breakageMinor").GetInt64(), settled.GetProperty("winningBets").GetInt32(), settled.GetProperty("refundedBets").GetInt32()));
        await stack.AssertLedgerExactAsync();
    }

    [Fact]
    public async Task A_chunk_size_set_beyond_what_the_Bet_Engine_accepts_is_held_to_its_limit_rather_than_failing_every_settlement()
    {
        // Out of range, the Bet Engine answers InvalidArgument, which no retry fixes: every pool would stop 'failed'.
        await stack.StopSettlementAsync();
        try
        {
            stack.StartSettlement(services => services.Configure<SettlementOptions>(o => o.BetsPerChunk = 20_000));
            var pool = await stack.NewPoolAsync();
            var (a, b, _, _) = await FourPlayersAsync();
            await stack.PlaceAsync(pool.Id, [(a, pool.Outcomes[0], 1_000), (b, pool.Outcomes[1], 1_000)]);
            await stack.LockAsync(pool.Id);
            await stack.ResolveAsync(pool.Id, pool.Outcomes[0]);
            await stack.WaitSettledAsync(pool.Id);

            // T = 2,000; rake = 100; net = 1,900, all to the only winner.
            await AssertBalancesAsync(pool, (a, Funds - 1_000 + 1_900), (b, Funds - 1_000));
        }
        finally
        {
            await stack.StopSettlementAsync();
            stack.StartSettlement();
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_cancelled_pool_refunds_every_stake_exactly(bool afterLock)
    {
        var pool = await stack.NewPoolAsync();
        var (a, b, c, _) = await FourPlayersAsync();
        var bets = await stack.PlaceAsync(pool.Id, [(a, pool.Outcomes[0], 1_234), (b, pool.Outcomes[1], 999), (c, pool.Outcomes[1], 1)]);
        var house = await HouseAsync();

        if (afterLock)
        {
            await stack.LockAsync(pool.Id);
        }
        await stack.CancelAsync(pool.Id);
        await stack.WaitSettledAsync(pool.Id);

        await AssertBalancesAsync(pool, (a, Funds), (b, Funds), (c, Funds));
        Assert.Equal(house, await HouseAsync());
        await AssertBetSettledOnceEachAsync(pool, bets, ("refunded", 1_234), ("refunded", 999), ("refunded", 1));
        var settled = await AssertPoolSettledOnceAsync(pool);
        Assert.Equal((2_234L, 2_234L, 0L, 0L, 3), (settled.GetProperty("totalMinor").GetInt64(), settled.GetProperty("paidOutMinor").GetInt64(),
            settled.GetProperty("rakeMinor").GetInt64(), settled.GetProperty("breakageMinor").GetInt64(), settled.GetProperty("refundedBets").GetInt32()));
        await stack.AssertLedgerExactAsync();
    }

    [Fact]
    public async Task A_dead_heat_shares_the_net_pool_among_everyone_on_either_winning_outcome()
    {
        var pool = await stack.NewPoolAsync(outcomes: 3);
        Assert.Equal(500, pool.RakeBasisPoints);
        var (a, b, c, _) = await FourPlayersAsync();
        var bets = await stack.PlaceAsync(pool.Id, [(a, pool.Outcomes[0], 1_000), (b, pool.Outcomes[1], 2_000), (c, pool.Outcomes[2], 3_001)]);
        var house = await HouseAsync();

        await stack.LockAsync(pool.Id);
        await stack.ResolveAsync(pool.Id, pool.Outcomes[0], pool.Outcomes[1]);
        await stack.WaitSettledAsync(pool.Id);

        // T = 6,001; rake = floor(300.05) = 300; net = 5,701; W = 3,000.
        // a: floor(1,000 * 5,701 / 3,000) = 1,900; b: floor(2,000 * 5,701 / 3,000) = 3,800; breakage = 5,701 - 5,700 = 1.
        await AssertBalancesAsync(pool, (a, Funds - 1_000 + 1_900), (b, Funds - 2_000 + 3_800), (c, Funds - 3_001));
        Assert.Equal((house.Rake + 300, house.Breakage + 1), await HouseAsync());
        await AssertBetSettledOnceEachAsync(pool, bets, ("won", 1_900), ("won", 3_800), ("lost", 0));
        await stack.AssertLedgerExactAsync();
    }

    [Fact]
    public async Task Nobody_on_the_winning_outcome_refunds_everyone_without_rake()
    {
        var pool = await stack.NewPoolAsync(outcomes: 3);
        var (a, b, _, _) = await FourPlayersAsync();
        var bets = await stack.PlaceAsync(pool.Id, [(a, pool.Outcomes[0], 700), (b, pool.Outcomes[1], 1_300)]);
        var house = await HouseAsync();

        await stack.LockAsync(pool.Id);
        await stack.ResolveAsync(pool.Id, pool.Outcomes[2]);
        await stack.WaitSettledAsync(pool.Id);

        await AssertBalancesAsync(pool, (a, Funds), (b, Funds));
        Assert.Equal(house, await HouseAsync());
        await AssertBetSettledOnceEachAsync(pool, bets, ("refunded", 700), ("refunded", 1_300));
        await stack.AssertLedgerExactAsync();
    }

    [Fact]
    public async Task A_single_sided_pool_refunds_everyone_without_rake()
    {
        var pool = await stack.NewPoolAsync();
        var (a, b, _, _) = await FourPlayersAsync();
        var bets = await stack.PlaceAsync(pool.Id, [(a, pool.Outcomes[0], 500), (b, pool.Outcomes[0], 2_500)]);
        var house = await HouseAsync();

        await stack.LockAsync(pool.Id);
        await stack.ResolveAsync(pool.Id, pool.Outcomes[0]);
        await stack.WaitSettledAsync(pool.Id);

        await AssertBalancesAsync(pool, (a, Funds), (b, Funds));
        Assert.Equal(house, await HouseAsync());
        await AssertBetSettledOnceEachAsync(pool, bets, ("refunded", 500), ("refunded", 2_500));
        await stack.AssertLedgerExactAsync();
    }

    [Fact]
    public async Task A_pool_nobody_bet_on_settles_with_nothing_to_pay()
    {
        var pool = await stack.NewPoolAsync();

        await stack.LockAsync(pool.Id);
        await stack.ResolveAsync(pool.Id, pool.Outcomes[0]);
        await stack.WaitSettledAsync(pool.Id);

        var settled = await AssertPoolSettledOnceAsync(pool);
        Assert.Equal(0, settled.GetProperty("totalMinor").GetInt64());
        Assert.Equal(0, await stack.BalanceAsync(pool.Escrow));
    }

    [Fact]
    public async Task The_same_PoolResolved_delivered_twice_and_a_second_PoolResolved_pay_once()
    {
        var pool = await stack.NewPoolAsync();
        var (a, b, _, _) = await FourPlayersAsync();
        var bets = await stack.PlaceAsync(pool.Id, [(a, pool.Outcomes[0], 2_000), (b, pool.Outcomes[1], 2_000)]);
        await stack.LockAsync(pool.Id);
        await stack.ResolveAsync(pool.Id, pool.Outcomes[0]);
        await stack.WaitSettledAsync(pool.Id);
        var balances = await stack.BalancesAsync([$"user:{a}", $"user:{b}", pool.Escrow]);
        var settlement = await SettlementRowAsync(pool.Id);

        // The broker delivers the same event again (same CloudEvents id), and Pools' relay publishes a copy with a new id.
        var (stream, fields) = await ResolvedEntryAsync(pool.Id);
        var again = await stack.Redis.StreamAddAsync(stream, fields);
        using var original = JsonDocument.Parse(fields.Single(f => f.Name == "ce").Value.ToString());
        var copyId = Guid.NewGuid();
        var copy = JsonSerializer.Serialize(original.RootElement).Replace(original.RootElement.GetProperty("id").GetString()!, copyId.ToString());
        var copied = await stack.Redis.StreamAddAsync(stream, [.. fields.Select(f => f.Name == "ce" ? new StackExchange.Redis.NameValueEntry("ce", copy) : f)]);
        // Settlement acknowledges an entry only after its inbox transaction (the handler's whole effect) has committed.
        Assert.True(await Eventually.HoldsAsync(() => AcknowledgedAsync(stream, again, copied), TimeSpan.FromSeconds(15)),
            "Settlement never acknowledged both deliveries of PoolResolved.");
        Assert.Equal(1, await stack.SettlementScalarAsync("SELECT count(*) FROM inbox WHERE event_id = $1", copyId));

        // Both handled and the settlement row untouched: still 'settled', which no worker claims (only 'due' and 'running'
        // are), and no run started in between (it would have raised attempts and updated_at). So nothing can pay again.
        Assert.Equal(settlement, await SettlementRowAsync(pool.Id));
        Assert.Equal(balances, await stack.BalancesAsync([$"user:{a}", $"user:{b}", pool.Escrow]));
        Assert.Equal(2, await stack.SettlementScalarAsync("SELECT count(*) FROM settled_bets WHERE pool_id = $1", pool.Id));
        await AssertBetSettledOnceEachAsync(pool, bets, ("won", 3_800), ("lost", 0));
        await AssertPoolSettledOnceAsync(pool);
        await stack.AssertLedgerExactAsync();
    }

    private async Task<(Guid, Guid, Guid, Guid)> FourPlayersAsync()
    {
        var users = await stack.FundedUsersAsync(4, Funds);
        return (users[0], users[1], users[2], users[3]);
    }

    private async Task<(long Rake, long Breakage)> HouseAsync() =>
        (await stack.BalanceAsync("house:rake"), await stack.BalanceAsync("house:breakage"));

    private async Task AssertBalancesAsync(TestPool pool, params (Guid User, long Expected)[] players)
    {
        var balances = await stack.BalancesAsync([.. players.Select(p => $"user:{p.User}"), pool.Escrow]);
        Assert.Equal(players.Select(p => p.Expected), players.Select(p => balances[$"user:{p.User}"]));
        Assert.Equal(0, balances[pool.Escrow]);
    }

    /// <summary>Each bet in exactly one BetsSettled (by event id: a republished copy does not count twice), with the result expected.</summary>
    private async Task AssertBetSettledOnceEachAsync(TestPool pool, TestBet[] bets, params (string Result, long Payout)[] expected)
    {
        List<System.Text.Json.JsonElement> lines = [];
        Assert.True(await Eventually.HoldsAsync(async () =>
        {
            lines = await stack.SettledBetLinesAsync(pool.Id);
            return lines.Count >= bets.Length;
        }, TimeSpan.FromSeconds(15)), $"Only {lines.Count} bets were announced in BetsSettled for {bets.Length} bets.");

        var byBet = lines.GroupBy(l => l.GetProperty("betId").GetGuid()).ToDictionary(g => g.Key, g => g.ToArray());
        Assert.Equal(bets.Select(b => b.BetId).Order(), byBet.Keys.Order());
        for (var i = 0; i < bets.Length; i++)
        {
            var settled = Assert.Single(byBet[bets[i].BetId]);
            Assert.Equal((expected[i].Result, expected[i].Payout, bets[i].StakeMinor, bets[i].UserId),
                (settled.GetProperty("result").GetString(), settled.GetProperty("payoutMinor").GetInt64(), settled.GetProperty("stakeMinor").GetInt64(), settled.GetProperty("userId").GetGuid()));
        }
    }

    private async Task<JsonElement> AssertPoolSettledOnceAsync(TestPool pool)
    {
        List<PublishedEvent> published = [];
        Assert.True(await Eventually.HoldsAsync(async () =>
        {
            published = await stack.PublishedAsync("streambets.settlement.pool-settled.v1", pool.Id);
            return published.Count > 0;
        }, TimeSpan.FromSeconds(15)), "PoolSettled was never published.");
        return Assert.Single(published.DistinctBy(e => e.Id)).Data;
    }

    private async Task<(string Status, int Attempts, DateTime UpdatedAt)> SettlementRowAsync(Guid poolId)
    {
        await using var command = stack.SettlementDb.CreateCommand("SELECT status, attempts, updated_at FROM settlements WHERE pool_id = $1");
        command.Parameters.Add(new Npgsql.NpgsqlParameter<Guid> { TypedValue = poolId });
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        return (reader.GetString(0), reader.GetInt32(1), reader.GetDateTime(2));
    }

    /// <summary>Settlement's consumer group has read the entries and acknowledged them (none is still pending).</summary>
    private async Task<bool> AcknowledgedAsync(string stream, StackExchange.Redis.RedisValue first, StackExchange.Redis.RedisValue last)
    {
        var group = (await stack.Redis.StreamGroupInfoAsync(stream)).SingleOrDefault(g => g.Name == "settlement");
        if (group.Name is null || group.LastDeliveredId is not { } delivered || EntryPosition(delivered).CompareTo(EntryPosition(last.ToString())) < 0)
        {
            return false;
        }
        return (await stack.Redis.StreamPendingMessagesAsync(stream, "settlement", 10, StackExchange.Redis.RedisValue.Null, first, last)).Length == 0;
    }

    /// <summary>A Redis stream entry id ("1718000000000-3") as a comparable pair.</summary>
    private static (long Milliseconds, long Sequence) EntryPosition(string id)
    {
        var dash = id.IndexOf('-', StringComparison.Ordinal);
        return (long.Parse(id[..dash], System.Globalization.CultureInfo.InvariantCulture), long.Parse(id[(dash + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>The PoolResolved entry of a pool as the bus carried it, to deliver it again.</summary>
    private async Task<(string Stream, StackExchange.Redis.NameValueEntry[] Fields)> ResolvedEntryAsync(Guid poolId)
    {
        for (var partition = 0; partition < 16; partition++)
        {
            var stream = $"{stack.BusPrefix}:pools:{partition}";
            foreach (var entry in await stack.Redis.StreamRangeAsync(stream))
            {
                if (entry["type"] == "streambets.pools.resolved.v1" && entry["ce"].ToString().Contains(poolId.ToString(), StringComparison.Ordinal))
                {
                    return (stream, entry.Values);
                }
            }
        }
        throw new InvalidOperationException($"No PoolResolved of pool {poolId} on the bus.");
    }
}
