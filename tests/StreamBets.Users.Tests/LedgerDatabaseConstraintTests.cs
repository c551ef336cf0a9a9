using Npgsql;
using StreamBets.Users.Ledger;
using static StreamBets.Users.Tests.LedgerTestRequests;

namespace StreamBets.Users.Tests;

/// <summary>The database itself guards the ledger: these statements bypass the application entirely.</summary>
public sealed class LedgerDatabaseConstraintTests(LedgerTestDatabase db) : IClassFixture<LedgerTestDatabase>
{
    [Fact]
    public async Task The_database_alone_refuses_to_overdraw_a_user_wallet()
    {
        var user = NewUser();
        await db.Ledger.TransferAsync(Deposit(user, 100));

        var error = await Assert.ThrowsAsync<PostgresException>(() =>
            ExecuteAsync("UPDATE ledger_accounts SET balance = balance - 101 WHERE code = $1", user.Code));

        Assert.Equal(PostgresErrorCodes.CheckViolation, error.SqlState);
        Assert.Equal("ledger_accounts_balance_not_negative", error.ConstraintName);
        Assert.Equal(100, (await db.SnapshotAsync()).Balance(user));
    }

    [Theory]
    [InlineData("user:4b0f3d0e-7c55-4d8e-9a5f-1c2d3e4f5a6b", "user", "4b0f3d0e-7c55-4d8e-9a5f-1c2d3e4f5a6b")]
    [InlineData("escrow:pool:4b0f3d0e-7c55-4d8e-9a5f-1c2d3e4f5a6b", "pool_escrow", "4b0f3d0e-7c55-4d8e-9a5f-1c2d3e4f5a6b")]
    [InlineData("house:rake", "house_rake", null)]
    public async Task No_account_but_psp_clearing_can_be_written_with_a_negative_balance(string code, string kind, string? owner)
    {
        var error = await Assert.ThrowsAsync<PostgresException>(() => InRolledBackTransactionAsync(
            "INSERT INTO ledger_accounts (code, kind, owner_id, balance) VALUES ($1, $2, $3::uuid, -1) ON CONFLICT (code) DO UPDATE SET balance = -1",
            code, kind, (object?)owner ?? DBNull.Value));

        Assert.Equal("ledger_accounts_balance_not_negative", error.ConstraintName);
    }

    [Fact]
    public async Task Psp_clearing_may_run_negative_because_it_mirrors_money_held_at_the_provider()
    {
        await InRolledBackTransactionAsync("UPDATE ledger_accounts SET balance = balance - 1 WHERE code = $1", LedgerAccountId.PspClearing.Code);
    }

    [Fact]
    public async Task A_transfer_whose_entries_do_not_sum_to_zero_is_refused()
    {
        var user = NewUser();
        await db.Ledger.TransferAsync(Deposit(user, 100));

        var error = await Assert.ThrowsAsync<PostgresException>(() => InRolledBackTransactionAsync("""
            WITH t AS (INSERT INTO ledger_transfers (transfer_id, reason, created_at) VALUES (gen_random_uuid(), 'forgery', now()) RETURNING seq)
            INSERT INTO ledger_entries (transfer_seq, account_id, amount, balance_after)
            SELECT t.seq, a.id, 50, a.balance + 50 FROM t, ledger_accounts a WHERE a.code = $1
            """, user.Code));

        Assert.Equal(PostgresErrorCodes.CheckViolation, error.SqlState);
        Assert.Contains("does not balance", error.MessageText);
    }

    [Fact]
    public async Task An_entry_for_an_account_that_does_not_exist_is_refused()
    {
        var error = await Assert.ThrowsAsync<PostgresException>(() => InRolledBackTransactionAsync("""
            WITH t AS (INSERT INTO ledger_transfers (transfer_id, reason, created_at) VALUES (gen_random_uuid(), 'forgery', now()) RETURNING seq)
            INSERT INTO ledger_entries (transfer_seq, account_id, amount, balance_after)
            SELECT t.seq, v.account_id, v.amount, v.amount FROM t, (VALUES (-1::bigint, 5::bigint), (-2, -5)) AS v(account_id, amount)
            """));

        Assert.Equal(PostgresErrorCodes.ForeignKeyViolation, error.SqlState);
    }

    [Fact]
    public async Task An_entry_for_a_transfer_that_does_not_exist_is_refused()
    {
        var (alice, bob) = (NewUser(), NewUser());
        await db.Ledger.TransferAsync(Deposit(alice, 100));
        await db.Ledger.TransferAsync(Deposit(bob, 100));

        var error = await Assert.ThrowsAsync<PostgresException>(() => InRolledBackTransactionAsync("""
            INSERT INTO ledger_entries (transfer_seq, account_id, amount, balance_after)
            SELECT -1, a.id, CASE a.code WHEN $1 THEN -5 ELSE 5 END, a.balance FROM ledger_accounts a WHERE a.code IN ($1, $2)
            """, alice.Code, bob.Code));

        Assert.Equal(PostgresErrorCodes.ForeignKeyViolation, error.SqlState);
        Assert.Contains("transfer -1", error.MessageText);
    }

    [Theory]
    [InlineData("UPDATE ledger_transfers SET reason = 'rewritten'")]
    [InlineData("DELETE FROM ledger_entries")]
    [InlineData("DELETE FROM ledger_accounts WHERE balance = 0")]
    [InlineData("UPDATE ledger_accounts SET code = 'house:rake2' WHERE code = 'house:rake'")]
    public async Task Transfers_entries_and_accounts_can_be_neither_rewritten_nor_deleted(string sql)
    {
        await db.Ledger.TransferAsync(Deposit(NewUser(), 100));

        var error = await Assert.ThrowsAsync<PostgresException>(() => InRolledBackTransactionAsync(sql));

        Assert.Equal(PostgresErrorCodes.RestrictViolation, error.SqlState);
    }

    [Fact]
    public async Task An_account_code_must_match_its_kind()
    {
        var error = await Assert.ThrowsAsync<PostgresException>(() => InRolledBackTransactionAsync(
            "INSERT INTO ledger_accounts (code, kind) VALUES ('user:someone', 'user')"));

        Assert.Equal("ledger_accounts_kind_matches_code", error.ConstraintName);
    }

    private async Task ExecuteAsync(string sql, params object[] values)
    {
        await using var command = db.DataSource.CreateCommand(sql);
        command.Parameters.AddRange(values.Select(v => new NpgsqlParameter { Value = v }).ToArray());
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Runs raw SQL and rolls it back, so the class's ledger stays balanced for the other tests.</summary>
    private async Task InRolledBackTransactionAsync(string sql, params object[] values)
    {
        await using var connection = await db.DataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        command.Parameters.AddRange(values.Select(v => new NpgsqlParameter { Value = v }).ToArray());
        await command.ExecuteNonQueryAsync();
        await transaction.RollbackAsync();
    }
}
