using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using StreamBets.Messaging;
using StreamBets.Testing;
using StreamBets.Users.Ledger;

// Transfers per second of the wallet ledger, measured in one run against the same PostgreSQL:
//   single  - LedgerStore.TransferAsync, one transfer per transaction, N concurrent clients
//   batched - LedgerStore.TransferBatchAsync with B transfers per transaction, M concurrent clients
//   naive   - per transfer: UPDATE accounts SET balance = balance - x / + x and INSERT the transfer, N clients
// each on random user-to-user transfers and on stakes into one hot pool escrow.
// The ledger paths include the WalletsChanged outbox writes; fsync and synchronous_commit are on.
var options = BenchmarkOptions.Parse(args);
Console.WriteLine($"# {options}");

// LEDGER_BENCH_POSTGRES=<connection string of a server's postgres database> reuses a running server (e.g. to inspect it).
var external = Environment.GetEnvironmentVariable("LEDGER_BENCH_POSTGRES");
await using var postgres = external is null ? await TestServers.StartAsync(() => new PostgresServer()) : null;
var connectionString = postgres is null ? await CreateDatabaseAsync(external!) : await postgres.CreateDatabaseAsync("ledgerbench");

var builder = Host.CreateApplicationBuilder();
builder.Configuration["ConnectionStrings:usersdb"] = connectionString;
builder.Configuration["ConnectionStrings:redis"] = "127.0.0.1:1"; // the relay is never started: events stay in the outbox
// As in the Users service's appsettings.json: a NOTIFY takes a global lock through commit, which would serialise every ledger commit.
builder.Configuration["Messaging:Relay:NotifyOnCommit"] = "false";
builder.AddEventBus("usersdb");
await using var services = builder.Services.BuildServiceProvider();
await PostgresSchema.MigrateAsync(connectionString, typeof(LedgerStore).Assembly);
await PostgresSchema.MigrateAsync(connectionString, typeof(IOutbox).Assembly);

await using var dataSource = NpgsqlDataSource.Create(connectionString + ";Maximum Pool Size=100");
var ledger = new LedgerStore(dataSource, services.GetRequiredService<IOutbox>(), TimeProvider.System, NullLogger<LedgerStore>.Instance);

var users = Enumerable.Range(0, options.Accounts).Select(_ => LedgerAccountId.ForUser(Guid.NewGuid())).ToArray();
var hotPool = LedgerAccountId.ForPoolEscrow(Guid.NewGuid());
foreach (var chunk in users.Chunk(1_000))
{
    await ledger.TransferBatchAsync([.. chunk.Select(u => new TransferRequest(Guid.NewGuid().ToString(), "deposit",
        [TransferLeg.Between(LedgerAccountId.PspClearing, u, 1_000_000_000)]))]);
}
await ledger.TransferAsync(new TransferRequest(Guid.NewGuid().ToString(), "deposit", [TransferLeg.Between(LedgerAccountId.PspClearing, hotPool, 1)]));
var accountIds = await NaiveTransfers.AccountIdsAsync(dataSource, users, hotPool);
await NaiveTransfers.CreateTableAsync(dataSource);

TransferRequest RandomTransfer(Random random)
{
    var from = users[random.Next(users.Length)];
    var to = users[random.Next(users.Length)];
    if (from == to)
    {
        to = users[(Array.IndexOf(users, from) + 1) % users.Length];
    }
    return new TransferRequest(Guid.NewGuid().ToString(), "p2p", [TransferLeg.Between(from, to, random.Next(1, 100))]);
}

TransferRequest HotStake(Random random) =>
    new(Guid.NewGuid().ToString(), "bet-stake", [TransferLeg.Between(users[random.Next(users.Length)], hotPool, random.Next(1, 100))]);

async Task<int> Single(Func<Random, TransferRequest> makeTransfer, Random random)
{
    var outcome = await ledger.TransferAsync(makeTransfer(random));
    return outcome.Status == TransferStatus.Applied ? 1 : throw new InvalidOperationException(outcome.Detail);
}

async Task<int> Batched(Func<Random, TransferRequest> makeTransfer, Random random)
{
    var batch = new TransferRequest[options.BatchSize];
    for (var i = 0; i < batch.Length; i++)
    {
        batch[i] = makeTransfer(random);
    }
    var outcomes = await ledger.TransferBatchAsync(batch);
    return outcomes.Count(o => o.Status == TransferStatus.Applied);
}

async Task<int> Naive(Func<Random, TransferRequest> makeTransfer, Random random)
{
    var leg = makeTransfer(random).Legs[0];
    await NaiveTransfers.ApplyAsync(dataSource, accountIds[leg.From], accountIds[leg.To], leg.AmountMinor);
    return 1;
}

var scenarios = new (string Name, int Clients, int PerTransaction, Func<Func<Random, TransferRequest>, Random, Task<int>> Call)[]
{
    ("single", options.Clients, 1, Single),
    ("batched", options.BatchClients, options.BatchSize, Batched),
    ("naive UPDATE", options.Clients, 1, Naive),
};
var results = new List<(string Scenario, string Accounts, int Clients, int PerTransaction, Measurement Result)>();
foreach (var (label, makeTransfer) in new (string, Func<Random, TransferRequest>)[] { ("random", RandomTransfer), ("hot escrow", HotStake) })
{
    foreach (var scenario in scenarios.Where(s => options.Only is null || s.Name.StartsWith(options.Only, StringComparison.Ordinal)))
    {
        var result = await Measure.RunAsync(options, scenario.Clients, random => scenario.Call(makeTransfer, random));
        results.Add((scenario.Name, label, scenario.Clients, scenario.PerTransaction, result));
    }
}

await using (var check = dataSource.CreateCommand("SELECT sum(balance)::bigint, count(*) FILTER (WHERE balance < 0 AND kind <> 'psp_clearing') FROM ledger_accounts"))
await using (var reader = await check.ExecuteReaderAsync())
{
    await reader.ReadAsync();
    Console.WriteLine($"# after the run: sum of balances {reader.GetInt64(0)}, negative non-clearing accounts {reader.GetInt64(1)}");
}

Console.WriteLine();
Console.WriteLine("| scenario | accounts | clients | transfers/tx | transfers/s | tx/s | mean latency per call |");
Console.WriteLine("|---|---|---|---|---|---|---|");
foreach (var (scenario, accounts, clients, perTx, result) in results)
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {scenario} | {accounts} | {clients} | {perTx} | {result.TransfersPerSecond:N0} | {result.CallsPerSecond:N0} | {result.MeanLatency.TotalMilliseconds:N1} ms |"));
}

static async Task<string> CreateDatabaseAsync(string serverConnectionString)
{
    var name = $"ledgerbench_{Guid.NewGuid():N}";
    await using var connection = new NpgsqlConnection(serverConnectionString);
    await connection.OpenAsync();
    await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
    await create.ExecuteNonQueryAsync();
    return new NpgsqlConnectionStringBuilder(serverConnectionString) { Database = name }.ConnectionString;
}

/// <param name="Only">Run only the scenarios whose name starts with this ("single", "batched", "naive").</param>
internal sealed record BenchmarkOptions(int Seconds, int Clients, int BatchClients, int BatchSize, int Accounts, string? Only)
{
    public static BenchmarkOptions Parse(string[] args)
    {
        var arguments = new BenchmarkArguments(args, "seconds", "clients", "batch-clients", "batch", "accounts", "only");
        return new(arguments.Number("seconds", 10), arguments.Number("clients", 16), arguments.Number("batch-clients", 4),
            arguments.Number("batch", 500), arguments.Number("accounts", 10_000), arguments.Text("only"));
    }
}

internal sealed record Measurement(double TransfersPerSecond, double CallsPerSecond, TimeSpan MeanLatency);

internal static class Measure
{
    /// <summary>Runs <paramref name="clients"/> loops of <paramref name="call"/> (which returns transfers applied) for the configured time, after a 2 s warm-up.</summary>
    public static async Task<Measurement> RunAsync(BenchmarkOptions options, int clients, Func<Random, Task<int>> call)
    {
        long transfers = 0, calls = 0;
        var measuring = false;
        using var stop = new CancellationTokenSource();
        var loops = Enumerable.Range(0, clients).Select(client => Task.Run(async () =>
        {
            var random = new Random(client);
            while (!stop.IsCancellationRequested)
            {
                var applied = await call(random);
                if (Volatile.Read(ref measuring))
                {
                    Interlocked.Add(ref transfers, applied);
                    Interlocked.Increment(ref calls);
                }
            }
        })).ToArray();

        await Task.Delay(TimeSpan.FromSeconds(2));
        Volatile.Write(ref measuring, true);
        var clock = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(options.Seconds));
        Volatile.Write(ref measuring, false);
        var elapsed = clock.Elapsed;
        stop.Cancel();
        await Task.WhenAll(loops);

        return new Measurement(transfers / elapsed.TotalSeconds, calls / elapsed.TotalSeconds,
            calls == 0 ? TimeSpan.Zero : elapsed * clients / calls);
    }
}

/// <summary>The baseline: one transaction per transfer, balances updated row by row.</summary>
internal static class NaiveTransfers
{
    public static async Task CreateTableAsync(NpgsqlDataSource dataSource)
    {
        await using var command = dataSource.CreateCommand(
            "CREATE TABLE naive_transfers (id uuid PRIMARY KEY, from_account bigint NOT NULL, to_account bigint NOT NULL, amount bigint NOT NULL, created_at timestamptz NOT NULL DEFAULT now())");
        await command.ExecuteNonQueryAsync();
    }

    public static async Task<Dictionary<string, long>> AccountIdsAsync(NpgsqlDataSource dataSource, LedgerAccountId[] users, LedgerAccountId pool)
    {
        var ids = new Dictionary<string, long>();
        await using var command = dataSource.CreateCommand("SELECT code, id FROM ledger_accounts WHERE code = ANY($1)");
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. users.Select(u => u.Code), pool.Code] });
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            ids[reader.GetString(0)] = reader.GetInt64(1);
        }
        return ids;
    }

    public static async Task ApplyAsync(NpgsqlDataSource dataSource, long from, long to, long amount)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        // Rows are updated in id order, the least a naive implementation must do to avoid deadlocks.
        foreach (var (account, delta) in from < to ? new[] { (from, -amount), (to, amount) } : [(to, amount), (from, -amount)])
        {
            await using var update = new NpgsqlCommand("UPDATE ledger_accounts SET balance = balance + $2 WHERE id = $1", connection, transaction);
            update.Parameters.Add(new NpgsqlParameter<long> { TypedValue = account });
            update.Parameters.Add(new NpgsqlParameter<long> { TypedValue = delta });
            await update.ExecuteNonQueryAsync();
        }
        await using var insert = new NpgsqlCommand("INSERT INTO naive_transfers (id, from_account, to_account, amount) VALUES ($1, $2, $3, $4)", connection, transaction);
        insert.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = Guid.NewGuid() });
        insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = from });
        insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = to });
        insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = amount });
        await insert.ExecuteNonQueryAsync();
        await transaction.CommitAsync();
    }
}
