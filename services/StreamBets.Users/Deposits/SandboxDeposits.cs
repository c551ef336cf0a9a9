using Npgsql;
using StreamBets.Users.Ledger;
using StreamBets.Users.ResponsibleGambling;

namespace StreamBets.Users.Deposits;

/// <summary>
/// A player's play-money deposit from PSP clearing (local mode), judged as a real deposit would be. The player's deposit
/// lock, the eligibility check, the ledger credit and the deposit record share one connection and one transaction: the
/// money moves exactly when the deposit limits count it, and a deposit never holds a pooled connection while it waits for
/// another (as many deposits at once as the pool holds would otherwise wait for each other until the pool times out).
/// </summary>
public sealed class SandboxDeposits(NpgsqlDataSource db, LedgerStore ledger, EligibilityChecker eligibility, TimeProvider time)
{
    public const string Reason = "sandbox-deposit";

    /// <summary>
    /// Credits <paramref name="amountMinor"/> under <paramref name="depositId"/> (also the ledger transfer id) and records it
    /// against the deposit limits. A replay of a recorded deposit is not judged again and answers the first transfer.
    /// </summary>
    public async Task<SandboxDepositResult> DepositAsync(Guid userId, Guid depositId, long amountMinor, Guid? sessionId, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await ResponsibleGamblingStore.LockDepositsAsync(transaction, userId, cancellationToken);
        // Before the check, so a self-exclusion, limit change or KYC tier change under way is waited for and judged by.
        // Lock order: deposit lock, player's row, ledger accounts. Those changes lock the row but take neither of the others,
        // and the ledger (withdrawals, bets, payouts) never locks a users row, so no cycle can form.
        await ResponsibleGamblingStore.HoldPlayerAsync(transaction, userId, cancellationToken);

        if (!await ResponsibleGamblingStore.IsDepositRecordedAsync(transaction, depositId, cancellationToken))
        {
            var decision = await eligibility.CheckAsync(transaction, userId, PlayerAction.Deposit, amountMinor, sessionId, cancellationToken);
            if (decision is not { Allowed: true })
            {
                return new SandboxDepositResult(null, decision);
            }
        }

        // Recorded in the credit's transaction: a replay's record is already there; a credit the ledger refuses rolls the
        // record back with it.
        await ResponsibleGamblingStore.RecordDepositAsync(transaction, depositId, userId, amountMinor, time.GetUtcNow(), cancellationToken);
        var credit = await ledger.TransferAsync(transaction, new TransferRequest(
            depositId.ToString(), Reason, [TransferLeg.Between(LedgerAccountId.PspClearing, LedgerAccountId.ForUser(userId), amountMinor)]), cancellationToken);
        if (credit.Transfer is not null)
        {
            await transaction.CommitAsync(cancellationToken);
        }
        return new SandboxDepositResult(credit, null);
    }
}

/// <summary>
/// The ledger's answer (<see cref="Credit"/>), or, when the deposit was refused before it, the eligibility decision that
/// refused it (<see cref="Refusal"/>, null as well when the user does not exist).
/// </summary>
public sealed record SandboxDepositResult(TransferOutcome? Credit, EligibilityDecision? Refusal);
