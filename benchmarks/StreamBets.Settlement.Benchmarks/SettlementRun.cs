using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Npgsql;
using StreamBets.Testing;

namespace StreamBets.Settlement.Benchmarks;

public sealed record SettlementReport(
    int Bets, string Status, double Seconds, double SettlementSeconds, long SettledBets, long PaidMinor, long RakeMinor, long BreakageMinor,
    long EscrowMinor, long LedgerSum, long OutboxLeft, bool Exact, string Cpu, (double? Bets, double? Leaderboards) ReadModels)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"""
        Settlement of {Bets:N0} bets: {Status} in {Seconds:F1} s from the resolve request ({SettlementSeconds:F1} s from the run's start), {Bets / Seconds:N0} bets/s
          settled bets {SettledBets:N0}; paid {PaidMinor:N0}, rake {RakeMinor:N0}, breakage {BreakageMinor:N0}
          escrow after {EscrowMinor:N0}; ledger sum {LedgerSum}; BetsSettled/PoolSettled still in settlementdb's outbox: {OutboxLeft:N0}
          exact: {Exact}
          read models caught up, from the resolve request: the Bet Engine's bet history {CaughtUp(ReadModels.Bets)}, Pools' leaderboards {CaughtUp(ReadModels.Leaderboards)}
        {Cpu}
        """);

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
        pools.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", InProcessServices.Token(Guid.NewGuid(), "admin", services.SigningKey));
        await using var settlementDb = NpgsqlDataSource.Create(services.Postgres.ConnectionString("settlementdb"));

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
        return new SettlementReport(pool.Bets, result.GetString(0), seconds, result.GetDouble(6), result.GetInt64(2), paid, rake, breakage,
            money.GetInt64(1), money.GetInt64(0), result.GetInt64(7), exact, cpu, readModels);
    }

    /// <summary>Seconds on <paramref name="clock"/> when betsdb holds every bet's result and when Pools holds every player's
    /// score on the pool's channel (each bet is a different player); null for one not caught up within the timeout.</summary>
    private static async Task<(double? Bets, double? Leaderboards)> WaitForReadModelsAsync(SettlementServices services, BigPool pool, Stopwatch clock, TimeSpan timeout)
    {
        await using var betsDb = NpgsqlDataSource.Create(services.Postgres.ConnectionString("betsdb"));
        await using var poolsDb = NpgsqlDataSource.Create(services.Postgres.ConnectionString("poolsdb"));
        double? bets = null, leaderboards = null;
        while (clock.Elapsed < timeout && (bets is null || leaderboards is null))
        {
            if (bets is null)
            {
                await using var results = betsDb.CreateCommand("SELECT count(*) FROM bets b JOIN bet_settlements s USING (bet_id) WHERE b.pool_id = $1");
                results.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = pool.Id });
                bets = (long)(await results.ExecuteScalarAsync())! == pool.Bets ? clock.Elapsed.TotalSeconds : null;
            }
            if (leaderboards is null)
            {
                await using var scores = poolsDb.CreateCommand("SELECT count(*) FROM leaderboard_totals WHERE channel = $1");
                scores.Parameters.Add(new NpgsqlParameter<string> { TypedValue = pool.Channel });
                leaderboards = (long)(await scores.ExecuteScalarAsync())! == pool.Bets ? clock.Elapsed.TotalSeconds : null;
            }
            await Task.Delay(2000); // the two counts read every row (0.2 s and 1.4 s at 1,000,000): not too often, they compete with the consumers
        }
        return (bets, leaderboards);
    }
}
