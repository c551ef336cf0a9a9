using Npgsql;
using StreamBets.Users.Ledger;

namespace StreamBets.Users.Tests;

/// <summary>
/// The first money into a new wallet, credited in a caller's transaction (a sandbox deposit), while a batch that
/// names the same wallet (an admin's sandbox credit) creates it and locks it. The interleaving is forced step by step.
/// </summary>
public sealed class LedgerNewWalletLockOrderTests(LedgerTestDatabase db) : IClassFixture<LedgerTestDatabase>
{
    [Fact]
    public async Task A_first_credit_in_a_callers_transaction_does_not_deadlock_with_a_batch_creating_the_same_wallet()
    {
        var wallet = LedgerAccountId.ForUser(Guid.NewGuid());
        await db.Ledger.TransferAsync(Credit(LedgerAccountId.ForUser(Guid.NewGuid()), 1)); // PSP clearing exists

        // Another deposit holds PSP clearing for a moment.
        await using var holder = await db.DataSource.OpenConnectionAsync();
        await using var held = await holder.BeginTransactionAsync();
        await LockAsync(holder, held, LedgerAccountId.PspClearing);

        // The deposit's credit waits for PSP clearing; the wallet was missing when it started.
        await using var depositConnection = await db.DataSource.OpenConnectionAsync();
        var deposit = Task.Run(async () =>
        {
            await using var transaction = await depositConnection.BeginTransactionAsync();
            var outcome = await db.Ledger.TransferAsync(transaction, Credit(wallet, 1_000));
            await transaction.CommitAsync();
            return outcome;
        });
        await WaitUntilBlockedAsync(depositConnection.ProcessID, by: holder.ProcessID);

        // The batch's attempt after it found the wallet missing: create it outside any transaction, then lock the wallet,
        // then PSP clearing (one statement in the ledger; two here, so the deposit's next step can come in between).
        await using var batchConnection = await db.DataSource.OpenConnectionAsync();
        var walletLocked = new TaskCompletionSource();
        var lockPspClearing = new TaskCompletionSource();
        var batch = Task.Run(async () =>
        {
            await using (var create = new NpgsqlCommand("INSERT INTO ledger_accounts (code, kind, owner_id) VALUES ($1, 'user', $2) ON CONFLICT (code) DO NOTHING", batchConnection))
            {
                create.Parameters.Add(new NpgsqlParameter<string> { TypedValue = wallet.Code });
                create.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = wallet.Owner!.Value });
                await create.ExecuteNonQueryAsync();
            }
            await using var transaction = await batchConnection.BeginTransactionAsync();
            await LockAsync(batchConnection, transaction, wallet);
            walletLocked.SetResult();
            await lockPspClearing.Task;
            await LockAsync(batchConnection, transaction, LedgerAccountId.PspClearing);
            await transaction.CommitAsync();
        });
        await WaitUntilBlockedAsync(batchConnection.ProcessID, done: walletLocked.Task); // or it waits for the deposit's new wallet

        await held.RollbackAsync();
        await WaitUntilBlockedAsync(depositConnection.ProcessID, by: batchConnection.ProcessID, done: deposit);
        lockPspClearing.SetResult();

        var outcome = await deposit.WaitAsync(TimeSpan.FromSeconds(30));
        await batch.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(TransferStatus.Applied, outcome.Status);
        Assert.Equal(1_000, await db.Ledger.GetBalanceAsync(wallet));
    }

    private static TransferRequest Credit(LedgerAccountId wallet, long amountMinor) =>
        new(Guid.NewGuid().ToString(), "sandbox-deposit", [TransferLeg.Between(LedgerAccountId.PspClearing, wallet, amountMinor)]);

    private static async Task LockAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, LedgerAccountId account)
    {
        await using var command = new NpgsqlCommand("SELECT id FROM ledger_accounts WHERE code = $1 FOR UPDATE", connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = account.Code });
        Assert.NotNull(await command.ExecuteScalarAsync());
    }

    /// <summary>Returns once the backend waits for a lock (one <paramref name="by"/> holds, when given), or <paramref name="done"/> has finished.</summary>
    private async Task WaitUntilBlockedAsync(int pid, int? by = null, Task? done = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (done is not { IsCompleted: true })
        {
            await using var command = db.DataSource.CreateCommand("SELECT pg_blocking_pids($1)");
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = pid });
            var blockers = (int[])(await command.ExecuteScalarAsync())!;
            if (by is null ? blockers.Length > 0 : blockers.Contains(by.Value))
            {
                return;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Backend {pid} never waited for {(by is null ? "a lock" : $"backend {by}")}.");
            }
            await Task.Delay(10);
        }
    }
}
