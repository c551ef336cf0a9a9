using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Grpc.Net.Client;
using Npgsql;
using NpgsqlTypes;
using StreamBets.Contracts.Wallet;
using StreamBets.Testing;

namespace StreamBets.Settlement.Benchmarks;

/// <summary>A locked pool with N accepted bets, made without the bet path (which has its own benchmark): the pool through
/// the Pools API, the bets by COPY into betsdb exactly as the Bet Engine stores accepted bets, the players' (empty)
/// wallets, and their stakes moved into the pool's escrow through the ledger (from PSP clearing, as deposits would
/// have), so the ledger stays double-entry and sums to 0.</summary>
public sealed record BigPool(Guid Id, string Channel, Guid[] Outcomes, long TotalMinor, int Bets, Guid LastBetId, Guid LastPlayer)
{
    public static async Task<BigPool> CreateAsync(SettlementServices services, SettlementBenchmarkOptions options)
    {
        var clock = Stopwatch.StartNew();
        using var pools = new HttpClient { BaseAddress = new Uri(services.PoolsUrl) };
        pools.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", services.Tokens.Token(Guid.NewGuid(), "admin"));
        var channelId = $"bench-{Guid.NewGuid():N}";
        var created = await pools.PostAsJsonAsync("/api/pools", new
        {
            channel = new { provider = "twitch", channelId },
            title = "Settlement benchmark",
            outcomes = Enumerable.Range(1, options.Outcomes).Select(i => $"Outcome {i}").ToArray(),
            bettingWindowSeconds = 1800,
            minStakeMinor = 1,
            maxStakeMinor = 1_000_000,
        });
        created.EnsureSuccessStatusCode();
        var pool = (await created.Content.ReadFromJsonAsync<PoolOnly>())!;
        var outcomes = pool.Outcomes.Select(o => o.Id).ToArray();
        (await pools.PostAsync($"/api/pools/{pool.Id}/lock", null)).EnsureSuccessStatusCode();

        var (total, players, lastBetId) = await CopyBetsAsync(services.Postgres.ConnectionString("betsdb"), pool.Id, outcomes, options.Bets);
        Console.WriteLine($"{options.Bets:N0} bets written to betsdb in {clock.Elapsed.TotalSeconds:F1} s (stakes {total:N0})");
        await CreateWalletsAsync(services.Postgres.ConnectionString("usersdb"), players);

        using var channel = GrpcChannel.ForAddress(services.UsersGrpcUrl);
        var reply = await new Wallet.WalletClient(channel).TransferAsync(new TransferRequest
        {
            TransferId = WalletTransferIds.FromName($"benchmark:{pool.Id}:escrow").ToString(),
            Reason = "benchmark-stakes",
            Reference = $"pool:{pool.Id}",
            Legs = { new Leg { FromAccount = "psp:clearing", ToAccount = $"escrow:pool:{pool.Id}", AmountMinor = total } },
        });
        Console.WriteLine($"Escrow funded through the ledger (transfer {reply.Transfer.Sequence}); pool {pool.Id} locked, ready after {clock.Elapsed.TotalSeconds:F1} s");
        return new BigPool(pool.Id, $"twitch:{channelId}", outcomes, total, options.Bets, lastBetId, players[^1]);
    }

    /// <summary>One bet per player, bet ids UUIDv7 in placement order, random outcome and stake (100 to 5,000): accepted
    /// bets, their one-outcome rows and the pool's totals, as the Bet Engine's finalize transaction writes them.</summary>
    private static async Task<(long Total, Guid[] Players, Guid LastBetId)> CopyBetsAsync(string connectionString, Guid poolId, Guid[] outcomes, int count)
    {
        var random = new Random(42);
        var players = new Guid[count];
        var placedAt = DateTimeOffset.UtcNow.AddMinutes(-10);
        long total = 0;
        var lastBetId = Guid.Empty;
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using (var copy = await connection.BeginBinaryImportAsync(
            "COPY bets (bet_id, user_id, idempotency_key, pool_id, outcome_id, stake_minor, stake_transfer_id, status, placed_at, written_at, decided_at) FROM STDIN (FORMAT BINARY)"))
        {
            for (var i = 0; i < count; i++)
            {
                var at = placedAt.AddTicks(i * 10L);
                var betId = lastBetId = Guid.CreateVersion7(at);
                var outcome = random.Next(outcomes.Length);
                var stake = (long)random.Next(100, 5_001);
                total += stake;
                await copy.StartRowAsync();
                await copy.WriteAsync(betId, NpgsqlDbType.Uuid);
                players[i] = Guid.NewGuid();
                await copy.WriteAsync(players[i], NpgsqlDbType.Uuid);
                await copy.WriteAsync($"bench-{i}", NpgsqlDbType.Text);
                await copy.WriteAsync(poolId, NpgsqlDbType.Uuid);
                await copy.WriteAsync(outcomes[outcome], NpgsqlDbType.Uuid);
                await copy.WriteAsync(stake, NpgsqlDbType.Bigint);
                await copy.WriteAsync(WalletTransferIds.FromName($"bet:{betId}:stake"), NpgsqlDbType.Uuid);
                await copy.WriteAsync("accepted", NpgsqlDbType.Text);
                await copy.WriteAsync(at, NpgsqlDbType.TimestampTz);
                await copy.WriteAsync(at, NpgsqlDbType.TimestampTz);
                await copy.WriteAsync(at, NpgsqlDbType.TimestampTz);
            }
            await copy.CompleteAsync();
        }

        await using var batch = new NpgsqlBatch(connection)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand("INSERT INTO pool_user_outcomes (pool_id, user_id, outcome_id) SELECT pool_id, user_id, outcome_id FROM bets WHERE pool_id = $1")
                {
                    Parameters = { new NpgsqlParameter<Guid> { TypedValue = poolId } },
                },
                new NpgsqlBatchCommand("""
                    INSERT INTO pool_outcome_totals (pool_id, outcome_id, staked_minor, bet_count)
                    SELECT pool_id, outcome_id, sum(stake_minor), count(*) FROM bets WHERE pool_id = $1 GROUP BY pool_id, outcome_id
                    """)
                {
                    Parameters = { new NpgsqlParameter<Guid> { TypedValue = poolId } },
                },
            },
        };
        await batch.ExecuteNonQueryAsync();
        await VacuumAsync(connection, "bets");
        return (total, players, lastBetId);
    }

    /// <summary>
    /// Players who staked have a wallet in the ledger (balance 0 once their stake left it), so the payouts find their
    /// accounts as in production instead of creating them. Empty accounts change no balance: the ledger still sums to 0.
    /// </summary>
    private static async Task CreateWalletsAsync(string usersConnectionString, Guid[] players)
    {
        await using var connection = new NpgsqlConnection(usersConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "INSERT INTO ledger_accounts (code, kind, owner_id) SELECT 'user:' || p, 'user', p FROM unnest($1::uuid[]) AS p ON CONFLICT (code) DO NOTHING", connection);
        command.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = players });
        command.CommandTimeout = 600;
        await command.ExecuteNonQueryAsync();
        await VacuumAsync(connection, "ledger_accounts");
    }

    /// <summary>
    /// The bulk load's own upkeep, done before the clock starts: otherwise autovacuum worked through a million new rows
    /// of bets and ledger_accounts during the timed settlement (3 % of the box), which a live system does as rows arrive.
    /// </summary>
    private static async Task VacuumAsync(NpgsqlConnection connection, string table)
    {
        await using var vacuum = new NpgsqlCommand($"VACUUM (ANALYZE) {table}", connection) { CommandTimeout = 600 };
        await vacuum.ExecuteNonQueryAsync();
        // And a checkpoint, so the timed settlement does not pay for flushing the load's pages.
        await using var checkpoint = new NpgsqlCommand("CHECKPOINT", connection) { CommandTimeout = 600 };
        await checkpoint.ExecuteNonQueryAsync();
    }

    private sealed record OutcomeOnly(Guid Id);

    private sealed record PoolOnly(Guid Id, OutcomeOnly[] Outcomes);
}
