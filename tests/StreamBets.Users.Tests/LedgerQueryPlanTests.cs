using StreamBets.Testing;
using StreamBets.Users.Ledger;

namespace StreamBets.Users.Tests;

/// <summary>
/// The ledger's hot statements must stay index probes however many accounts exist: a plan that reads the whole
/// table costs nothing in a small test database and dominates a big pool's settlement in production.
/// </summary>
public sealed class LedgerQueryPlanTests(LedgerTestDatabase db) : IClassFixture<LedgerTestDatabase>
{
    [Fact]
    public async Task Locking_a_payout_batch_probes_each_account_instead_of_scanning_all_of_them()
    {
        // 300,000 wallets, as in a big pool's settlement; written straight into the table, the ledger API is not under test.
        await ExecuteAsync("""
            INSERT INTO ledger_accounts (code, kind, owner_id)
            SELECT 'user:' || u, 'user', u FROM (SELECT gen_random_uuid() AS u FROM generate_series(1, 300000)) s
            """);
        await ExecuteAsync("ANALYZE ledger_accounts");
        await using var pick = db.DataSource.CreateCommand("SELECT array_agg(code ORDER BY code) FROM (SELECT code FROM ledger_accounts ORDER BY random() LIMIT 2500) s");
        var codes = (string[])(await pick.ExecuteScalarAsync())!;

        var text = await QueryPlans.ExplainAsync(db.DataSource, LedgerStore.LockAccountsSql, [codes]);
        Assert.DoesNotContain("Seq Scan", text);
        Assert.Contains("Index Scan using ledger_accounts_code_key", text);
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var command = db.DataSource.CreateCommand(sql);
        command.CommandTimeout = 120;
        await command.ExecuteNonQueryAsync();
    }
}
