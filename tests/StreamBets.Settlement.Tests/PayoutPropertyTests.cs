using System.Globalization;
using System.Net.Http.Json;
using System.Numerics;
using System.Text.Json;
using Npgsql;

namespace StreamBets.Settlement.Tests;

/// <summary>
/// Generated pools carried through the real path (bets through the Bet Engine, PoolResolved/PoolCancelled on the bus,
/// Pools' payouts, Settlement, the Users ledger in PostgreSQL) and checked against the rules worked out here in
/// BigInteger, apart from the product's arithmetic: what each player, the rake account and the breakage account got
/// is read from the ledger, never from Settlement's own record.
/// </summary>
/// <remarks>
/// The seed is fixed so a run is reproducible; set STREAMBETS_PAYOUT_PROPERTY_SEED to try others. A failure names the
/// seed and the pool that broke the rules.
/// </remarks>
[Collection(StackCollection.Name)]
public sealed class PayoutPropertyTests(SettlementStack stack)
{
    private const int Cases = 30;
    private const int DefaultSeed = 20_260_512;

    // The most one ledger leg moves, so the most a bet can stake. A huge pool goes well past it: its payouts and rake
    // then go in several legs of one transfer.
    private const long MaxTransferMinor = StreamBets.Users.Ledger.LedgerTransfer.MaxLegAmountMinor;

    private enum Finish { SingleWinner, RakeCappedByLosers, DeadHeat, NobodyOnWinner, SingleSided, CancelledOpen, CancelledLocked }

    private enum Stakes { Small, Varied, Huge }

    private sealed record GeneratedBet(int Player, int Outcome, long Stake);

    private sealed record GeneratedPool(int Case, Finish Finish, Stakes Stakes, int Outcomes, int RakeBasisPoints, int Players, GeneratedBet[] Bets, int[] Winners)
    {
        public override string ToString() =>
            $"case {Case}: {Finish}, {Stakes} stakes, {Outcomes} outcomes, rake {RakeBasisPoints} bp, winners [{string.Join(", ", Winners)}], " +
            $"bets [{string.Join(", ", Bets.Select(b => $"p{b.Player}->o{b.Outcome}:{b.Stake}"))}]";
    }

    /// <summary>What the rules pay: each bet's payout (or refund), the rake and the breakage.</summary>
    private sealed record Expected(BigInteger[] Paid, BigInteger Rake, BigInteger Breakage);

    [Fact]
    public async Task Generated_pools_pay_players_rake_and_breakage_through_the_ledger_exactly_as_the_parimutuel_rules_say()
    {
        var seed = Environment.GetEnvironmentVariable("STREAMBETS_PAYOUT_PROPERTY_SEED") is { Length: > 0 } chosen
            ? int.Parse(chosen, CultureInfo.InvariantCulture)
            : DefaultSeed;
        var random = new Random(seed);
        var configuredRake = await RakeAsync();
        try
        {
            for (var i = 0; i < Cases; i++)
            {
                var pool = Generate(random, i);
                try
                {
                    await SettleAndCheckAsync(pool);
                }
                catch (Exception e)
                {
                    throw new Xunit.Sdk.XunitException($"Seed {seed} (STREAMBETS_PAYOUT_PROPERTY_SEED), {pool}:{Environment.NewLine}{e.Message}", e);
                }
            }
        }
        finally
        {
            await SetRakeAsync(configuredRake);
        }
    }

    /// <summary>
    /// Two bets of the most a bet can stake make a pool whose winner is owed more than one ledger leg carries: it is paid
    /// in several legs of its one transfer (it was one leg, the ledger refused it, and the pool stopped 'failed' with the
    /// money in escrow).
    /// </summary>
    [Fact]
    public async Task A_winner_owed_more_than_one_ledger_transfer_carries_is_still_paid_in_full()
    {
        var pool = await stack.NewPoolAsync(maxStakeMinor: long.MaxValue);
        var users = await stack.FundedUsersAsync(2, MaxTransferMinor);
        await stack.PlaceAsync(pool.Id, [(users[0], pool.Outcomes[0], MaxTransferMinor), (users[1], pool.Outcomes[1], MaxTransferMinor)]);

        await stack.LockAsync(pool.Id);
        await stack.ResolveAsync(pool.Id, pool.Outcomes[0]);
        await stack.WaitSettledAsync(pool.Id);

        var rake = 2 * MaxTransferMinor * pool.RakeBasisPoints / 10_000;
        Assert.Equal(2 * MaxTransferMinor - rake, await stack.BalanceAsync($"user:{users[0]}"));
        Assert.Equal(0, await stack.BalanceAsync(pool.Escrow));
        await stack.AssertLedgerExactAsync();
    }

    private async Task SettleAndCheckAsync(GeneratedPool generated)
    {
        await SetRakeAsync(generated.RakeBasisPoints);
        var pool = await stack.NewPoolAsync(generated.Outcomes, maxStakeMinor: long.MaxValue);
        Assert.Equal(generated.RakeBasisPoints, pool.RakeBasisPoints);

        // Each player is credited exactly what they stake, so every wallet is empty once the bets are in.
        var players = Enumerable.Range(0, generated.Players).Select(_ => Guid.NewGuid()).ToArray();
        await stack.FundAsync(generated.Bets.GroupBy(b => b.Player).Select(g => (players[g.Key], g.Sum(b => b.Stake))));
        var accounts = players.Select(p => $"user:{p}").Concat(["house:rake", "house:breakage", pool.Escrow]).ToArray();
        await stack.PlaceAsync(pool.Id, generated.Bets.Select(b => (players[b.Player], pool.Outcomes[b.Outcome], b.Stake)));
        var before = await stack.BalancesAsync(accounts);

        if (generated.Finish is Finish.CancelledOpen)
        {
            await stack.CancelAsync(pool.Id);
        }
        else
        {
            await stack.LockAsync(pool.Id);
            if (generated.Finish is Finish.CancelledLocked)
            {
                await stack.CancelAsync(pool.Id);
            }
            else
            {
                await stack.ResolveAsync(pool.Id, [.. generated.Winners.Select(w => pool.Outcomes[w])]);
            }
        }
        await stack.WaitSettledAsync(pool.Id);

        var expected = Oracle(generated);
        var after = await stack.BalancesAsync(accounts);
        var outOfEscrow = await PaidOutOfEscrowAsync(pool.Escrow);
        var total = generated.Bets.Aggregate(BigInteger.Zero, (sum, b) => sum + b.Stake);

        for (var p = 0; p < players.Length; p++)
        {
            var owed = generated.Bets.Select((b, i) => (b, i)).Where(x => x.b.Player == p).Aggregate(BigInteger.Zero, (sum, x) => sum + expected.Paid[x.i]);
            var account = $"user:{players[p]}";
            Assert.True(owed == after[account] - (BigInteger)before[account], $"Player {p}'s balance moved {after[account] - before[account]}, the rules pay {owed}.");
            Assert.True(owed == outOfEscrow.GetValueOrDefault(account), $"Player {p} got {outOfEscrow.GetValueOrDefault(account)} out of the escrow, the rules pay {owed}.");
        }

        Assert.True(expected.Rake == outOfEscrow.GetValueOrDefault("house:rake"), $"The rake account got {outOfEscrow.GetValueOrDefault("house:rake")} out of the escrow, the rules take {expected.Rake}.");
        Assert.True(expected.Breakage == outOfEscrow.GetValueOrDefault("house:breakage"), $"The breakage account got {outOfEscrow.GetValueOrDefault("house:breakage")} out of the escrow, the rules leave {expected.Breakage}.");
        Assert.True(expected.Rake == after["house:rake"] - (BigInteger)before["house:rake"], "The rake account's balance moved by other than the rake.");
        Assert.True(expected.Breakage == after["house:breakage"] - (BigInteger)before["house:breakage"], "The breakage account's balance moved by other than the breakage.");
        Assert.Empty(outOfEscrow.Keys.Except([.. players.Select(p => $"user:{p}"), "house:rake", "house:breakage"]));

        // Read from the ledger alone: what left the escrow is the pool, and nothing is left in it.
        var payouts = outOfEscrow.Where(e => e.Key.StartsWith("user:", StringComparison.Ordinal)).Aggregate(BigInteger.Zero, (sum, e) => sum + e.Value);
        Assert.True(total == payouts + outOfEscrow.GetValueOrDefault("house:rake") + outOfEscrow.GetValueOrDefault("house:breakage"),
            $"Payouts {payouts} + rake + breakage read from the ledger are not the pool's total {total}.");
        Assert.True(total == before[pool.Escrow], $"The escrow held {before[pool.Escrow]} before settling, the bets staked {total}.");
        Assert.Equal(0L, after[pool.Escrow]);
        await stack.AssertLedgerExactAsync();
    }

    /// <summary>
    /// The rules of docs/pools.md "Payouts" (ARCHITECTURE.md's formula with the rake capped at what the losers staked):
    /// rake = min(floor(T × bp / 10,000), T − W), a winning stake s gets floor(s × (T − rake) / W), breakage is the
    /// rest. A cancelled pool, nobody on the winner or nobody on a loser: every stake back, no rake.
    /// </summary>
    private static Expected Oracle(GeneratedPool pool)
    {
        var total = pool.Bets.Aggregate(BigInteger.Zero, (sum, b) => sum + b.Stake);
        var winning = pool.Bets.Where(b => pool.Winners.Contains(b.Outcome)).Aggregate(BigInteger.Zero, (sum, b) => sum + b.Stake);
        if (pool.Finish is Finish.CancelledOpen or Finish.CancelledLocked || winning.IsZero || winning == total)
        {
            return new([.. pool.Bets.Select(b => (BigInteger)b.Stake)], 0, 0);
        }

        var rake = BigInteger.Min(total * pool.RakeBasisPoints / 10_000, total - winning);
        var net = total - rake;
        BigInteger[] paid = [.. pool.Bets.Select(b => pool.Winners.Contains(b.Outcome) ? b.Stake * net / winning : BigInteger.Zero)];
        return new(paid, rake, net - paid.Aggregate(BigInteger.Zero, (sum, p) => sum + p));
    }

    private static GeneratedPool Generate(Random random, int index)
    {
        var finish = (Finish)(index % 7);
        var stakes = (Stakes)(index % 3); // 7 and 3 share no factor: 21 cases see every pairing
        var outcomes = random.Next(finish is Finish.DeadHeat ? 3 : 2, 11);
        var rake = random.Next(5) switch
        {
            0 => 0,
            1 => 5_000, // the most the product allows (PoolDefinition.MaxRakeBasisPoints)
            _ => random.Next(finish is Finish.RakeCappedByLosers ? 500 : 1, 5_000),
        };
        var count = random.Next(finish is Finish.SingleWinner or Finish.RakeCappedByLosers ? 2 : finish is Finish.DeadHeat ? 3 : 1, 31);

        // Which outcomes win, and which each bet backs: the first bets make the case what it says it is.
        int[] winners = finish switch
        {
            Finish.DeadHeat => [.. Enumerable.Range(0, outcomes).OrderBy(_ => random.Next()).Take(random.Next(2, outcomes))],
            Finish.CancelledOpen or Finish.CancelledLocked => [],
            _ => [random.Next(outcomes)],
        };
        var losers = Enumerable.Range(0, outcomes).Except(winners).ToArray();
        var sided = random.Next(outcomes);
        var backed = new int[count];
        for (var i = 0; i < count; i++)
        {
            backed[i] = finish switch
            {
                Finish.SingleWinner or Finish.RakeCappedByLosers => i == 0 ? winners[0] : i == 1 ? losers[random.Next(losers.Length)] : random.Next(outcomes),
                Finish.DeadHeat => i < 2 ? winners[i] : i == 2 ? losers[random.Next(losers.Length)] : random.Next(outcomes),
                Finish.NobodyOnWinner => losers[random.Next(losers.Length)],
                Finish.SingleSided => sided,
                _ => random.Next(outcomes),
            };
        }
        if (finish is Finish.SingleSided && random.Next(2) == 0)
        {
            winners = [sided]; // also resolved to the one backed outcome: nobody to win from
        }

        var stake = new long[count];
        for (var i = 0; i < count; i++)
        {
            // Capped by losers: they stake so little that the full rake would eat into the winners' stakes.
            var cap = finish is Finish.RakeCappedByLosers && !winners.Contains(backed[i]) ? 1_000
                : stakes switch { Stakes.Small => 1_000, Stakes.Varied => 1_000_000_000_000, _ => MaxTransferMinor };
            stake[i] = Math.Clamp((long)Math.Exp(random.NextDouble() * Math.Log(cap)), 1, cap);
        }
        if (finish is Finish.RakeCappedByLosers)
        {
            stake[0] = Math.Max(stake[0], 1_000_000); // the winner's side dwarfs the losers'
        }
        if (stakes is Stakes.Huge)
        {
            // One bet stakes nearly the most a bet can; with the others the pool goes past what one ledger leg moves.
            var big = finish is Finish.RakeCappedByLosers ? 0 : random.Next(count);
            stake[big] = MaxTransferMinor - random.NextInt64(1L << 20);
        }

        // A player backs one outcome of a pool (the Bet Engine refuses a second), sometimes with several bets.
        var backers = new List<int>[outcomes];
        var players = 0;
        var bets = new GeneratedBet[count];
        for (var i = 0; i < count; i++)
        {
            var same = backers[backed[i]] ??= [];
            var player = same.Count > 0 && random.Next(3) == 0 ? same[random.Next(same.Count)] : players++;
            same.Add(player);
            bets[i] = new GeneratedBet(player, backed[i], stake[i]);
        }

        return new(index, finish, stakes, outcomes, rake, players, bets, winners);
    }

    /// <summary>Everything the escrow paid out, by the account it went to, as the ledger's entries record it.</summary>
    private async Task<Dictionary<string, BigInteger>> PaidOutOfEscrowAsync(string escrow)
    {
        await using var command = stack.UsersDb.CreateCommand("""
            SELECT receiver.code, sum(credit.amount)::text
            FROM ledger_accounts escrow
            JOIN ledger_entries debit ON debit.account_id = escrow.id AND debit.amount < 0
            JOIN ledger_entries credit ON credit.transfer_seq = debit.transfer_seq AND credit.account_id <> escrow.id
            JOIN ledger_accounts receiver ON receiver.id = credit.account_id
            WHERE escrow.code = $1
            GROUP BY receiver.code
            """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = escrow });
        var paid = new Dictionary<string, BigInteger>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            paid[reader.GetString(0)] = BigInteger.Parse(reader.GetString(1), CultureInfo.InvariantCulture);
        }
        return paid;
    }

    private async Task<int> RakeAsync() =>
        (await stack.PoolsHttp.GetFromJsonAsync<JsonElement>("/api/pools/admin/config")).GetProperty("defaultRakeBasisPoints").GetInt32();

    /// <summary>Sets the rake new pools take, as an operator does (a pool's own rake is fixed when it is created).</summary>
    private async Task SetRakeAsync(int rakeBasisPoints)
    {
        var config = await stack.PoolsHttp.GetFromJsonAsync<JsonElement>("/api/pools/admin/config");
        if (config.GetProperty("defaultRakeBasisPoints").GetInt32() == rakeBasisPoints)
        {
            return;
        }
        var response = await stack.PoolsHttp.PutAsJsonAsync("/api/pools/admin/config", new
        {
            version = config.GetProperty("version").GetString(),
            defaultRakeBasisPoints = rakeBasisPoints,
            defaultMinStakeMinor = config.GetProperty("defaultMinStakeMinor").GetInt64(),
            defaultMaxStakeMinor = config.GetProperty("defaultMaxStakeMinor").GetInt64(),
            oneActivePoolPerChannel = config.GetProperty("oneActivePoolPerChannel").GetBoolean(),
            autoCancelAfterHours = config.GetProperty("autoCancelAfterHours").GetInt32(),
        });
        Assert.True(response.IsSuccessStatusCode, $"Setting the rake to {rakeBasisPoints} bp failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }
}
