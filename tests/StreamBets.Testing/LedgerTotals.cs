using Npgsql;

namespace StreamBets.Testing;

/// <summary>One ledger account as usersdb holds it: the cached balance, the sum of its entries and its latest entry's balance_after.</summary>
public sealed record LedgerAccountState(string Code, long Balance, long EntrySum, long LastBalanceAfter)
{
    /// <summary>
    /// Whether the cached balance agrees with the entries. The database checks only that each transfer's entries sum
    /// to zero; the balance column is kept by the application, so only this catches a balance update gone wrong.
    /// </summary>
    public bool AgreesWithEntries => Balance == EntrySum && Balance == LastBalanceAfter;

    public override string ToString() => $"{Code} holds {Balance}, its entries sum to {EntrySum}, its last entry says {LastBalanceAfter}";
}

/// <summary>The ledger's invariants as read straight from usersdb, for tests to assert on.</summary>
public static class LedgerTotals
{
    /// <summary>Balances of the given ledger accounts as usersdb holds them (an account never used is absent: 0).</summary>
    public static async Task<Dictionary<string, long>> BalancesAsync(NpgsqlDataSource usersDb, IEnumerable<string> accounts)
    {
        var codes = accounts.ToArray();
        var balances = codes.ToDictionary(c => c, _ => 0L);
        await using var command = usersDb.CreateCommand("SELECT code, balance FROM ledger_accounts WHERE code = ANY($1)");
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = codes });
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            balances[reader.GetString(0)] = reader.GetInt64(1);
        }
        return balances;
    }

    /// <summary>The sum of every balance (always 0 in a double-entry ledger) and how many accounts other than PSP
    /// clearing are negative (never any).</summary>
    public static async Task<(long Sum, long NegativeAccounts)> ReadAsync(NpgsqlDataSource usersDb)
    {
        await using var command = usersDb.CreateCommand(
            "SELECT coalesce(sum(balance), 0)::bigint, count(*) FILTER (WHERE balance < 0 AND kind <> 'psp_clearing') FROM ledger_accounts");
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    /// <summary>Every account with its balance, the sum of its entries and its latest balance_after (0 for an account with no entries).</summary>
    public static async Task<IReadOnlyList<LedgerAccountState>> ReadAccountsAsync(NpgsqlDataSource usersDb)
    {
        var accounts = new List<LedgerAccountState>();
        await using var command = usersDb.CreateCommand("""
            SELECT a.code, a.balance, coalesce(s.total, 0),
                   (SELECT e.balance_after FROM ledger_entries e WHERE e.account_id = a.id ORDER BY e.transfer_seq DESC LIMIT 1)
            FROM ledger_accounts a
            LEFT JOIN (SELECT account_id, sum(amount)::bigint AS total FROM ledger_entries GROUP BY account_id) s ON s.account_id = a.id
            """);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            accounts.Add(new LedgerAccountState(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.IsDBNull(3) ? 0 : reader.GetInt64(3)));
        }
        return accounts;
    }

    /// <summary>The accounts whose balance disagrees with their entries (never any).</summary>
    public static async Task<IReadOnlyList<LedgerAccountState>> DriftedAccountsAsync(NpgsqlDataSource usersDb) =>
        [.. (await ReadAccountsAsync(usersDb)).Where(a => !a.AgreesWithEntries)];
}
