using Npgsql;

namespace StreamBets.Testing;

/// <summary>The ledger's two invariants as read straight from usersdb, for tests to assert on.</summary>
public static class LedgerTotals
{
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
}
