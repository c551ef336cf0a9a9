using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using StreamBets.Testing;
using StreamBets.Users.Ledger;

namespace StreamBets.Users.Tests;

/// <summary>The Users service with its ledger audit running on the fake clock, and every log record kept.</summary>
public class LedgerAuditTestApp : AccountsTestApp
{
    public static readonly TimeSpan Every = TimeSpan.FromMinutes(5);

    public CollectedLogs Logs { get; } = new();

    protected override IEnumerable<KeyValuePair<string, string>> Settings() =>
    [
        .. base.Settings(),
        new("Ledger:Audit:Every", Every.ToString()),
        new($"Logging:LogLevel:{typeof(LedgerAudit).FullName}", "Information"),
    ];

    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<ILoggerProvider>(Logs);

    public LedgerStore Ledger => Services.GetRequiredService<LedgerStore>();

    public NpgsqlDataSource DataSource => Services.GetRequiredService<NpgsqlDataSource>();

    /// <summary>The audit gauges as an exporter reads them from this host's meter (null: not reported yet).</summary>
    public Dictionary<string, long> Gauges()
    {
        var factory = Services.GetRequiredService<IMeterFactory>();
        var values = new Dictionary<string, long>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, factory) && instrument.Meter.Name == LedgerStore.MeterName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => values[instrument.Name] = value);
        listener.Start();
        listener.RecordObservableInstruments();
        return values;
    }

    /// <summary>
    /// Lets the audit's own timer run a round: moves the clock one interval (again, should the timer not have been
    /// waiting yet when it moved) until a round begun after this call has ended. Not merely a newer one: a round the
    /// previous call's extra move started may still be running, having read the ledger before the test's last write.
    /// </summary>
    public async Task<LedgerAuditResult> NextTimedRoundAsync()
    {
        var audit = Services.GetRequiredService<LedgerAudit>();
        var calledAt = Clock.GetUtcNow();
        for (var i = 0; i < 100; i++)
        {
            Clock.Advance(Every);
            for (var wait = 0; wait < 20; wait++)
            {
                if (audit.Last is { } last && last.At > calledAt)
                {
                    return last;
                }
                await Task.Delay(10);
            }
        }
        throw new TimeoutException("The ledger audit's timer ran no round.");
    }

    public async Task FundAsync(LedgerAccountId to, long amountMinor, string reason = "sandbox-credit")
    {
        var outcome = await Ledger.TransferAsync(new TransferRequest(Guid.NewGuid().ToString(), reason, [TransferLeg.Between(LedgerAccountId.PspClearing, to, amountMinor)]));
        Assert.Equal(TransferStatus.Applied, outcome.Status);
    }

    public async Task MoveAsync(LedgerAccountId from, LedgerAccountId to, long amountMinor, string reason)
    {
        var outcome = await Ledger.TransferAsync(new TransferRequest(Guid.NewGuid().ToString(), reason, [TransferLeg.Between(from, to, amountMinor)]));
        Assert.Equal(TransferStatus.Applied, outcome.Status);
    }

    public async Task<long> AccountIdAsync(LedgerAccountId account)
    {
        await using var command = DataSource.CreateCommand("SELECT id FROM ledger_accounts WHERE code = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = account.Code });
        return (long)(await command.ExecuteScalarAsync())!;
    }
}

/// <summary>A host of its own for the test that corrupts the ledger: the healthy-ledger tests never see its damage.</summary>
public sealed class LedgerAuditDriftTestApp : LedgerAuditTestApp;

public sealed class LedgerAuditTests(LedgerAuditTestApp app) : IClassFixture<LedgerAuditTestApp>
{
    [Fact]
    public async Task After_real_transfers_every_audit_gauge_reads_zero()
    {
        var logged = app.Logs.Records.Count;
        var player = LedgerAccountId.ForUser(Guid.NewGuid());
        var pool = LedgerAccountId.ForPoolEscrow(Guid.NewGuid());
        await app.FundAsync(player, 10_000);
        await app.MoveAsync(player, pool, 2_500, "bet-stake");
        await app.MoveAsync(pool, LedgerAccountId.HouseRake, 250, "settlement");
        await app.MoveAsync(pool, player, 2_250, "settlement");

        var result = await app.NextTimedRoundAsync();
        // Transfers after the round and another round: what the audit folded and what it sums afresh agree.
        await app.MoveAsync(player, LedgerAccountId.PspClearing, 1_000, "sandbox-withdrawal");
        await app.NextTimedRoundAsync();
        await app.NextTimedRoundAsync();

        Assert.Equal((0, 0, 0), (result.ImbalanceMinor, result.DriftedAccountIds.Count, result.StaleEscrowAccountIds.Count));
        var gauges = app.Gauges();
        Assert.Equal(0, gauges["streambets.ledger.imbalance_minor"]);
        Assert.Equal(0, gauges["streambets.ledger.drifted_accounts"]);
        Assert.Equal(0, gauges["streambets.ledger.stale_escrows"]);
        Assert.DoesNotContain(app.Logs.Records.Skip(logged), r => r.Category == typeof(LedgerAudit).FullName && r.Level >= LogLevel.Warning);
    }

    /// <summary>
    /// The fold's hard case: a transfer drawing its seq below a newer one already committed, and committing only after
    /// two rounds. Its transaction took its id after the newer transfer's did (ids follow first writes, seqs follow
    /// inserts), so the snapshot's xmax said nothing about it; folding on xmax skipped its entries for good and reported
    /// its accounts drifted until the process restarted.
    /// </summary>
    [Fact]
    public async Task A_transfer_open_across_two_rounds_with_a_lower_seq_than_a_committed_one_is_counted_once_it_commits()
    {
        var (a, b, c, d) = (LedgerAccountId.ForUser(Guid.NewGuid()), LedgerAccountId.ForUser(Guid.NewGuid()), LedgerAccountId.ForUser(Guid.NewGuid()), LedgerAccountId.ForUser(Guid.NewGuid()));
        foreach (var account in new[] { a, b, c, d })
        {
            await app.FundAsync(account, 1_000);
        }
        await app.NextTimedRoundAsync();
        var logged = app.Logs.Records.Count;

        await using var newer = await app.DataSource.OpenConnectionAsync();
        await using var older = await app.DataSource.OpenConnectionAsync();
        await using var newerTransaction = await newer.BeginTransactionAsync();
        await LockAsync(newer, a, b); // the newer transfer's transaction takes its id first...
        await using var olderTransaction = await older.BeginTransactionAsync();
        await LockAsync(older, c, d);
        var olderSeq = await InsertTransferAsync(older, c, d, 300); // ...but draws its seq second
        var newerSeq = await InsertTransferAsync(newer, a, b, 200);
        Assert.True(olderSeq < newerSeq);
        await newerTransaction.CommitAsync();

        var whileOpen = new[] { await app.NextTimedRoundAsync(), await app.NextTimedRoundAsync() };
        await olderTransaction.CommitAsync();
        var afterCommit = new[] { await app.NextTimedRoundAsync(), await app.NextTimedRoundAsync() };

        Assert.All(whileOpen.Concat(afterCommit), round => Assert.Equal((0, 0), (round.ImbalanceMinor, round.DriftedAccountIds.Count)));
        Assert.DoesNotContain(app.Logs.Records.Skip(logged), r => r.EventName == "LedgerAccountsDrifted");
    }

    private static async Task LockAsync(NpgsqlConnection connection, LedgerAccountId from, LedgerAccountId to)
    {
        await using var command = new NpgsqlCommand("SELECT id FROM ledger_accounts WHERE code = ANY($1) ORDER BY id FOR UPDATE", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = new[] { from.Code, to.Code } });
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>One transfer as the ledger writes it (transfer, both entries in one statement, balances), left uncommitted.</summary>
    private static async Task<long> InsertTransferAsync(NpgsqlConnection connection, LedgerAccountId from, LedgerAccountId to, long amountMinor)
    {
        await using var command = new NpgsqlCommand("""
            WITH t AS (INSERT INTO ledger_transfers (transfer_id, reason, created_at) VALUES (gen_random_uuid(), 'tip', now()) RETURNING seq),
            moved AS (
                UPDATE ledger_accounts a SET balance = a.balance + CASE WHEN a.code = $1 THEN -$3 ELSE $3 END
                WHERE a.code IN ($1, $2) RETURNING a.id, a.balance, CASE WHEN a.code = $1 THEN -$3 ELSE $3 END AS amount),
            entries AS (
                INSERT INTO ledger_entries (transfer_seq, account_id, amount, balance_after)
                SELECT t.seq, m.id, m.amount, m.balance FROM t, moved m)
            SELECT seq FROM t
            """, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = from.Code });
        command.Parameters.Add(new NpgsqlParameter { Value = to.Code });
        command.Parameters.Add(new NpgsqlParameter { Value = amountMinor });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task An_escrow_holding_money_idle_past_the_threshold_is_stale_and_a_fresh_one_is_not()
    {
        var player = LedgerAccountId.ForUser(Guid.NewGuid());
        var abandoned = LedgerAccountId.ForPoolEscrow(Guid.NewGuid());
        var emptied = LedgerAccountId.ForPoolEscrow(Guid.NewGuid());
        var fresh = LedgerAccountId.ForPoolEscrow(Guid.NewGuid());
        await app.FundAsync(player, 10_000);
        await app.MoveAsync(player, abandoned, 1_000, "bet-stake");
        await app.MoveAsync(player, emptied, 1_000, "bet-stake");
        await app.MoveAsync(emptied, player, 1_000, "refund");

        app.Clock.Advance(TimeSpan.FromDays(8) + TimeSpan.FromMinutes(1)); // longer than the 168 h auto-cancel term and a day
        await app.MoveAsync(player, fresh, 1_000, "bet-stake");
        var result = await app.NextTimedRoundAsync();

        var abandonedId = await app.AccountIdAsync(abandoned);
        Assert.Equal([abandonedId], result.StaleEscrowAccountIds);
        Assert.Equal(1, app.Gauges()["streambets.ledger.stale_escrows"]);
        Assert.Contains(app.Logs.Records, r => r.EventName == "LedgerStaleEscrows" && r.Message.Contains(abandonedId.ToString()));
        Assert.Equal((0, 0), (result.ImbalanceMinor, result.DriftedAccountIds.Count));

        await app.MoveAsync(abandoned, player, 1_000, "refund"); // emptied: no longer stale
        Assert.Empty((await app.NextTimedRoundAsync()).StaleEscrowAccountIds);
    }
}

public sealed class LedgerAuditDriftTests(LedgerAuditDriftTestApp app) : IClassFixture<LedgerAuditDriftTestApp>
{
    [Fact]
    public async Task A_hand_update_of_a_balance_shows_as_imbalance_and_drift_and_the_warning_names_the_account()
    {
        var player = LedgerAccountId.ForUser(Guid.NewGuid());
        var other = LedgerAccountId.ForUser(Guid.NewGuid());
        await app.FundAsync(player, 10_000);
        await app.FundAsync(other, 3_000);
        Assert.Equal((0, 0), Found(await app.NextTimedRoundAsync()));
        var playerId = await app.AccountIdAsync(player);

        // The "fix-up": allowed by the schema, invisible to health.
        await using (var fixUp = app.DataSource.CreateCommand("UPDATE ledger_accounts SET balance = balance + 500 WHERE code = $1"))
        {
            fixUp.Parameters.Add(new NpgsqlParameter { Value = player.Code });
            Assert.Equal(1, await fixUp.ExecuteNonQueryAsync());
        }
        var result = await app.NextTimedRoundAsync();

        Assert.Equal((500, 1), Found(result));
        Assert.Equal([playerId], result.DriftedAccountIds);
        var gauges = app.Gauges();
        Assert.Equal(500, gauges["streambets.ledger.imbalance_minor"]);
        Assert.Equal(1, gauges["streambets.ledger.drifted_accounts"]);
        var warning = Assert.Single(app.Logs.Records, r => r.EventName == "LedgerAccountsDrifted" && r.Level == LogLevel.Warning);
        Assert.Equal(402, warning.EventId.Id);
        Assert.Equal(playerId.ToString(), warning["AccountIds"]);
        Assert.Contains(app.Logs.Records, r => r.EventName == "LedgerImbalanced" && Equals(r["ImbalanceMinor"], 500L));

        // A transfer on the drifted account afterwards does not hide it (its entry's balance_after carries the error on).
        await app.MoveAsync(player, other, 100, "tip");
        Assert.Equal((500, 1), Found(await app.NextTimedRoundAsync()));
        Assert.Equal((500, 1), Found(await app.NextTimedRoundAsync()));

        // Undone by hand: the next round reads clean again.
        await using (var undo = app.DataSource.CreateCommand("UPDATE ledger_accounts SET balance = balance - 500 WHERE code = $1"))
        {
            undo.Parameters.Add(new NpgsqlParameter { Value = player.Code });
            await undo.ExecuteNonQueryAsync();
        }
        Assert.Equal((0, 0), Found(await app.NextTimedRoundAsync()));
    }

    private static (long Imbalance, int Drifted) Found(LedgerAuditResult result) => (result.ImbalanceMinor, result.DriftedAccountIds.Count);
}
