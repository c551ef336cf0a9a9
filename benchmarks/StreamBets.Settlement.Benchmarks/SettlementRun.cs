using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Npgsql;
using StreamBets.Testing;

namespace StreamBets.Settlement.Benchmarks;

public sealed record SettlementReport(
    int Bets, string Status, double Seconds, double SettlementSeconds, long SettledBets, long PaidMinor, long RakeMinor, long BreakageMinor,
    long EscrowMinor, long LedgerSum, long OutboxLeft, bool Exact, string Cpu, (double? Bets, double? Leaderboards) ReadModels, string? CpuToReadModels)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"""
        Settlement of {Bets:N0} bets: {Status} in {Seconds:F1} s from the resolve request ({SettlementSeconds:F1} s from the run's start), {Bets / Seconds:N0} bets/s
          settled bets {SettledBets:N0}; paid {PaidMinor:N0}, rake {RakeMinor:N0}, breakage {BreakageMinor:N0}
          escrow after {EscrowMinor:N0}; ledger sum {LedgerSum}; BetsSettled/PoolSettled still in settlementdb's outbox: {OutboxLeft:N0}
          exact: {Exact}
          read models caught up, from the resolve request: the Bet Engine's bet history {CaughtUp(ReadModels.Bets)}, Pools' leaderboards {CaughtUp(ReadModels.Leaderboards)}
        {Cpu}
        {(CpuToReadModels is null ? "" : $"Until the read models caught up:\n{CpuToReadModels}")}
        """).TrimEnd();

    private static string CaughtUp(double? seconds) => seconds is { } s ? string.Create(CultureInfo.InvariantCulture, $"{s:F1} s") : "NOT within the timeout";
}

/// <summary>
/// Resolves the pool (its first outcome wins) and times it until Settlement marks it settled, then checks the money, then
/// waits for the read models that BetsSettled feeds to hold every bet: they are eventually consistent and may still be
/// catching up when the money has moved.
/// </summary>
public static class SettlementRun
{
    public static async Task<SettlementReport> TimeAsync(SettlementServices services, BigPool pool, SettlementBenchmarkOptions options)
    {
        using var pools = new HttpClient { BaseAddress = new Uri(services.PoolsUrl) };
        pools.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", services.Tokens.Token(Guid.NewGuid(), "admin"));
        await using var settlementDb = NpgsqlDataSource.Create(services.Postgres.ConnectionString("settlementdb"));

        // Viewers look at the channel's boards: read, they are built, and settled bets keep all six boards up to date.
        foreach (var scope in new[] { "global", $"channel:{pool.Channel}" })
        {
            foreach (var period in new[] { "day", "week", "all" })
            {
                (await pools.GetAsync($"/api/pools/leaderboards?scope={scope}&period={period}")).EnsureSuccessStatusCode();
            }
        }

        var cpuAtStart = ProcessCpu.Sample();
        var clock = Stopwatch.StartNew();
        (await pools.PostAsJsonAsync($"/api/pools/{pool.Id}/resolve", new { winningOutcomeIds = new[] { pool.Outcomes[0] } })).EnsureSuccessStatusCode();

        string status = "unknown";
        long settled = 0;
        var nextReport = TimeSpan.FromSeconds(5);
        while (clock.Elapsed < options.Timeout)
        {
            await using (var command = settlementDb.CreateCommand("SELECT status, settled_bets FROM settlements WHERE pool_id = $1"))
            {
                command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = pool.Id });
                await using var reader = await command.ExecuteReaderAsync();
                if (await reader.ReadAsync())
                {
                    (status, settled) = (reader.GetString(0), reader.GetInt64(1));
                }
            }
            if (status is "settled" or "failed")
            {
                break;
            }
            if (clock.Elapsed >= nextReport)
            {
                Console.WriteLine($"  {clock.Elapsed.TotalSeconds,6:F1} s: {status}, {settled:N0} bets settled");
                nextReport += TimeSpan.FromSeconds(5);
            }
            await Task.Delay(100);
        }
        var seconds = clock.Elapsed.TotalSeconds;
        var cpu = ProcessCpu.Report(cpuAtStart, ProcessCpu.Sample(), seconds, pool.Bets, "bet");

        await using var row = settlementDb.CreateCommand("""
            SELECT status, coalesce(last_error, ''), settled_bets, coalesce(paid_minor, 0), coalesce(rake_minor, 0), coalesce(breakage_minor, 0),
                   coalesce(extract(epoch FROM finished_at - started_at), 0)::float8, (SELECT count(*) FROM outbox)
            FROM settlements WHERE pool_id = $1
            """);
        row.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = pool.Id });
        await using var result = await row.ExecuteReaderAsync();
        await result.ReadAsync();
        if (result.GetString(1).Length > 0)
        {
            Console.WriteLine($"Last error: {result.GetString(1)}");
        }

        await using var usersDb = NpgsqlDataSource.Create(services.Postgres.ConnectionString("usersdb"));
        await using var ledger = usersDb.CreateCommand(
            "SELECT coalesce(sum(balance), 0)::bigint, coalesce((SELECT balance FROM ledger_accounts WHERE code = $1), 0) FROM ledger_accounts");
        ledger.Parameters.Add(new NpgsqlParameter<string> { TypedValue = $"escrow:pool:{pool.Id}" });
        await using var money = await ledger.ExecuteReaderAsync();
        await money.ReadAsync();

        var (paid, rake, breakage) = (result.GetInt64(3), result.GetInt64(4), result.GetInt64(5));
        var exact = result.GetString(0) == "settled" && result.GetInt64(2) == pool.Bets && paid + rake + breakage == pool.TotalMinor
            && money.GetInt64(0) == 0 && money.GetInt64(1) == 0;
        var readModels = exact ? await WaitForReadModelsAsync(services, pool, clock, options.Timeout) : (null, null);
        var cpuToReadModels = readModels is ({ } bets, { } boards)
            ? ProcessCpu.Report(cpuAtStart, ProcessCpu.Sample(), Math.Max(bets, boards), pool.Bets, "bet")
            : null;
        return new SettlementReport(pool.Bets, result.GetString(0), seconds, result.GetDouble(6), result.GetInt64(2), paid, rake, breakage,
            money.GetInt64(1), money.GetInt64(0), result.GetInt64(7), exact, cpu, readModels, cpuToReadModels);
    }

    /// <summary>Seconds on <paramref name="clock"/> when betsdb holds every bet's result and when Pools holds every player's
    /// score on the pool's channel (each bet is a different player); null for one not caught up within the timeout. A
    /// full count reads every row (1.4 s and 0.2 s at 1,000,000) and would compete with the consumers it waits for, so
    /// each is counted only once the last bet, or its player, is there: a cheap key lookup.</summary>
    private static async Task<(double? Bets, double? Leaderboards)> WaitForReadModelsAsync(SettlementServices services, BigPool pool, Stopwatch clock, TimeSpan timeout)
    {
        await using var betsDb = NpgsqlDataSource.Create(services.Postgres.ConnectionString("betsdb"));
        await using var poolsDb = NpgsqlDataSource.Create(services.Postgres.ConnectionString("poolsdb"));
        var bets = new ReadModel(betsDb, pool.Bets,
            Count("SELECT count(*) FROM bet_settlements WHERE bet_id = $1", pool.LastBetId),
            Count("SELECT count(*) FROM bets b JOIN bet_settlements s USING (bet_id) WHERE b.pool_id = $1", pool.Id));
        var leaderboards = new ReadModel(poolsDb, pool.Bets,
            Count("SELECT count(*) FROM leaderboard_totals WHERE user_id = $1 AND channel = $2", pool.LastPlayer, pool.Channel),
            Count("SELECT count(*) FROM leaderboard_totals WHERE channel = $1", pool.Channel));
        while (clock.Elapsed < timeout && (bets.CaughtUpAt is null || leaderboards.CaughtUpAt is null))
        {
            await bets.CheckAsync(clock);
            await leaderboards.CheckAsync(clock);
            await Task.Delay(200);
        }
        return (bets.CaughtUpAt, leaderboards.CaughtUpAt);
    }

    private static (string Sql, object[] Parameters) Count(string sql, params object[] parameters) => (sql, parameters);

    /// <summary>A read model of the pool's bets: caught up once its full count (checked only after the cheap one finds the
    /// last bet) reaches the pool's bets.</summary>
    private sealed class ReadModel(NpgsqlDataSource database, long bets, (string Sql, object[] Parameters) last, (string Sql, object[] Parameters) all)
    {
        private bool _lastSeen;

        public double? CaughtUpAt { get; private set; }

        public async Task CheckAsync(Stopwatch clock)
        {
            if (CaughtUpAt is not null)
            {
                return;
            }
            _lastSeen = _lastSeen || await CountAsync(last) > 0;
            if (_lastSeen && await CountAsync(all) == bets)
            {
                CaughtUpAt = clock.Elapsed.TotalSeconds;
            }
        }

        private async Task<long> CountAsync((string Sql, object[] Parameters) query)
        {
            await using var command = database.CreateCommand(query.Sql);
            foreach (var value in query.Parameters)
            {
                command.Parameters.Add(new NpgsqlParameter { Value = value });
            }
            return (long)(await command.ExecuteScalarAsync())!;
        }
    }
}
