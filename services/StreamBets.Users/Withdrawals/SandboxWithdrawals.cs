using Npgsql;
using StreamBets.Users.Ledger;
using StreamBets.Users.ResponsibleGambling;

namespace StreamBets.Users.Withdrawals;

/// <summary>
/// A player's play-money withdrawal to PSP clearing (local mode), judged as a real withdrawal would be: the eligibility
/// check and the ledger debit share one connection and one transaction, so a refused or failed withdrawal moves nothing.
/// Withdrawals need no lock of their own: the ledger locks the wallet and checks its balance under that lock, so
/// withdrawals sent at once are debited one after another and never overdraw it; and no withdrawal rule depends on
/// earlier withdrawals, as deposit limits depend on earlier deposits.
/// </summary>
public sealed class SandboxWithdrawals(NpgsqlDataSource db, LedgerStore ledger, EligibilityChecker eligibility)
{
    public const string Reason = "sandbox-withdrawal";

    /// <summary>
    /// Debits <paramref name="amountMinor"/> under <paramref name="withdrawalId"/> (the ledger transfer id). A replay of an
    /// applied withdrawal is not judged again and answers the first transfer (or the ledger's conflict for another amount).
    /// </summary>
    public async Task<SandboxWithdrawalResult> WithdrawAsync(Guid userId, Guid withdrawalId, long amountMinor, Guid? sessionId, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        // A retry must get the first answer even if a new withdrawal would be refused now: money that already left is
        // not judged again. The withdrawal's only record is its ledger transfer.
        if (!await LedgerStore.IsAppliedAsync(transaction, withdrawalId, cancellationToken))
        {
            var decision = await eligibility.CheckAsync(transaction, userId, PlayerAction.Withdraw, amountMinor, sessionId, cancellationToken);
            if (decision is not { Allowed: true })
            {
                return new SandboxWithdrawalResult(null, decision);
            }
        }

        var debit = await ledger.TransferAsync(transaction, new TransferRequest(
            withdrawalId.ToString(), Reason, [TransferLeg.Between(LedgerAccountId.ForUser(userId), LedgerAccountId.PspClearing, amountMinor)]), cancellationToken);
        if (debit.Transfer is not null)
        {
            await transaction.CommitAsync(cancellationToken);
        }
        return new SandboxWithdrawalResult(debit, null);
    }
}

/// <summary>
/// The ledger's answer (<see cref="Debit"/>), or, when the withdrawal was refused before it, the eligibility decision that
/// refused it (<see cref="Refusal"/>, null as well when the user does not exist).
/// </summary>
public sealed record SandboxWithdrawalResult(TransferOutcome? Debit, EligibilityDecision? Refusal);
