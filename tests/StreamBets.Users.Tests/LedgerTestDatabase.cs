using System.Collections.Concurrent;
using System.Data.Common;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;
using StreamBets.Testing;
using StreamBets.Users.Ledger;

namespace StreamBets.Users.Tests;

/// <summary>A freshly migrated ledger database on the shared test PostgreSQL, one per test class.</summary>
public sealed class LedgerTestDatabase : IAsyncLifetime, IPostgresTestDatabase
{
    public string ConnectionString { get; private set; } = "";
    public NpgsqlDataSource DataSource { get; private set; } = null!;
    public RecordingOutbox Outbox { get; } = new();
    public LedgerStore Ledger { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var postgres = await TestServers.PostgresAsync();
        ConnectionString = await postgres.CreateDatabaseAsync("ledger");
        await RelaxDurabilityAsync(ConnectionString);
        await PostgresSchema.MigrateAsync(ConnectionString, typeof(LedgerStore).Assembly);
        DataSource = NpgsqlDataSource.Create(ConnectionString);
        await using (var table = DataSource.CreateCommand(RecordingOutbox.TableSql))
        {
            await table.ExecuteNonQueryAsync();
        }
        Ledger = new LedgerStore(DataSource, Outbox, TimeProvider.System, NullLogger<LedgerStore>.Instance);
    }

    public async Task DisposeAsync() => await DataSource.DisposeAsync();

    /// <summary>
    /// Commits stop waiting for the WAL flush (about 3 ms here). Atomicity, locks and constraints are
    /// unchanged, so every rule under test still holds; only crash durability, which no test covers, is off.
    /// </summary>
    public static async Task RelaxDurabilityAsync(string connectionString)
    {
        var database = new NpgsqlConnectionStringBuilder(connectionString).Database;
        await using var connection = new NpgsqlConnection(connectionString + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"ALTER DATABASE \"{database}\" SET synchronous_commit = off", connection);
        await command.ExecuteNonQueryAsync();
    }

    public Task<LedgerSnapshot> SnapshotAsync() => LedgerSnapshot.ReadAsync(DataSource);
}

/// <summary>
/// Captures the events the ledger hands to the outbox, counting only those whose transaction committed: each write
/// inserts the events' keys into a table of the test database (the host tests check the real outbox table).
/// </summary>
public sealed class RecordingOutbox : IOutbox
{
    public const string TableSql = "CREATE TABLE recorded_events (n bigserial PRIMARY KEY, event_key uuid NOT NULL)";

    private readonly ConcurrentDictionary<Guid, IIntegrationEvent> _written = new();

    /// <summary>The wallet changes of the events that committed, in the order written.</summary>
    public async Task<IReadOnlyList<WalletChange>> WalletChangesAsync(NpgsqlDataSource db)
    {
        var changes = new List<WalletChange>();
        await using var command = db.CreateCommand("SELECT event_key FROM recorded_events ORDER BY n");
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            if (_written[reader.GetGuid(0)] is WalletsChanged changed)
            {
                changes.AddRange(changed.Changes);
            }
        }
        return changes;
    }

    public Task AddAsync(DbTransaction transaction, IIntegrationEvent @event, CancellationToken cancellationToken = default) =>
        AddRangeAsync(transaction, [@event], cancellationToken);

    public async Task AddRangeAsync(DbTransaction transaction, IReadOnlyCollection<IIntegrationEvent> events, CancellationToken cancellationToken = default)
    {
        var npgsqlTransaction = (NpgsqlTransaction)transaction;
        await using var batch = new NpgsqlBatch(npgsqlTransaction.Connection, npgsqlTransaction);
        foreach (var command in CommandsFor(events))
        {
            batch.BatchCommands.Add(command);
        }
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    public IReadOnlyList<NpgsqlBatchCommand> CommandsFor(IReadOnlyCollection<IIntegrationEvent> events)
    {
        var keys = events.Select(@event =>
        {
            var key = Guid.NewGuid();
            _written[key] = @event;
            return key;
        }).ToArray();
        var insert = new NpgsqlBatchCommand("INSERT INTO recorded_events (event_key) SELECT unnest($1::uuid[])");
        insert.Parameters.Add(new NpgsqlParameter { Value = keys });
        return [insert];
    }
}

/// <summary>Everything the ledger's invariants are checked against, read straight from the tables.</summary>
public sealed record LedgerSnapshot(
    IReadOnlyDictionary<string, long> Balances,
    IReadOnlyDictionary<string, long> EntrySums,
    IReadOnlyDictionary<string, long> LastBalanceAfter,
    long UnbalancedTransfers,
    long TransferCount,
    long EntryCount)
{
    public long Balance(LedgerAccountId account) => Balances.GetValueOrDefault(account.Code);

    public static async Task<LedgerSnapshot> ReadAsync(NpgsqlDataSource dataSource)
    {
        var accounts = await LedgerTotals.ReadAccountsAsync(dataSource);
        var balances = accounts.ToDictionary(a => a.Code, a => a.Balance);
        var sums = accounts.ToDictionary(a => a.Code, a => a.EntrySum);
        var last = accounts.ToDictionary(a => a.Code, a => a.LastBalanceAfter);

        await using var counts = dataSource.CreateCommand("""
            SELECT (SELECT count(*) FROM (SELECT 1 FROM ledger_entries GROUP BY transfer_seq HAVING sum(amount) <> 0) u),
                   (SELECT count(*) FROM ledger_transfers),
                   (SELECT count(*) FROM ledger_entries)
            """);
        await using var countReader = await counts.ExecuteReaderAsync();
        await countReader.ReadAsync();
        return new LedgerSnapshot(balances, sums, last, countReader.GetInt64(0), countReader.GetInt64(1), countReader.GetInt64(2));
    }

    /// <summary>The ledger's invariants: double entry, no overdraft, balances that agree with their entries.</summary>
    public void AssertConsistent()
    {
        Assert.Equal(0, Balances.Values.Sum());
        Assert.Equal(0, UnbalancedTransfers);
        foreach (var (code, balance) in Balances)
        {
            if (code != LedgerAccountId.PspClearing.Code)
            {
                Assert.True(balance >= 0, $"{code} has a negative balance of {balance}.");
            }
            Assert.True(balance == EntrySums[code], $"{code} holds {balance} but its entries sum to {EntrySums[code]}.");
            Assert.True(balance == LastBalanceAfter[code], $"{code} holds {balance} but its last entry says {LastBalanceAfter[code]}.");
        }
    }
}
