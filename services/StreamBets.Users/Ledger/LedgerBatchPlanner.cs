namespace StreamBets.Users.Ledger;

/// <summary>An account as locked for a batch.</summary>
public readonly record struct LockedAccount(long StoreId, long BalanceMinor);

/// <summary>A transfer the batch will write, with the balances it leaves behind.</summary>
public sealed record PlannedTransfer(LedgerTransfer Transfer, IReadOnlyList<CommittedPosting> Postings);

/// <summary>
/// How one request of a batch is answered. Applied requests and in-batch duplicates point at a
/// <see cref="PlannedTransfer"/> (its sequence is only known once written); the rest carry their outcome.
/// </summary>
public readonly record struct PlannedDecision(int PlannedIndex, bool IsDuplicate, TransferOutcome? Outcome);

public sealed record BatchPlan(
    IReadOnlyList<PlannedDecision> Decisions,
    IReadOnlyList<PlannedTransfer> Transfers,
    IReadOnlyDictionary<LedgerAccountId, long> AccountDeltas);

/// <summary>
/// Decides, in memory, which transfers of a batch are accepted: it applies them in request order to
/// the balances of the locked accounts, so each transfer sees the effect of those before it, exactly
/// as if they had run one by one. It touches no database; the store writes what it planned.
/// </summary>
public static class LedgerBatchPlanner
{
    /// <param name="requests">Each request, validated (<c>Transfer</c>) or not (<c>Error</c>).</param>
    /// <param name="accounts">Every account the valid transfers touch, locked.</param>
    /// <param name="stored">Transfers already in the ledger with one of the batch's ids.</param>
    public static BatchPlan Plan(
        IReadOnlyList<(string RequestedId, LedgerTransfer? Transfer, string? Error)> requests,
        IReadOnlyDictionary<LedgerAccountId, LockedAccount> accounts,
        IReadOnlyDictionary<Guid, CommittedTransfer> stored)
    {
        var balances = new Dictionary<LedgerAccountId, long>(accounts.Count);
        foreach (var (account, locked) in accounts)
        {
            balances[account] = locked.BalanceMinor;
        }

        var decisions = new PlannedDecision[requests.Count];
        var planned = new List<PlannedTransfer>();
        var plannedById = new Dictionary<Guid, int>();
        var deltas = new Dictionary<LedgerAccountId, long>();
        var newBalances = new long[LedgerTransfer.MaxLegs * 2];

        for (var i = 0; i < requests.Count; i++)
        {
            var (requestedId, transfer, error) = requests[i];
            if (transfer is null)
            {
                decisions[i] = Refused(TransferOutcome.Rejected(requestedId, LedgerErrors.InvalidTransfer, error ?? "The transfer is invalid."));
                continue;
            }

            if (stored.TryGetValue(transfer.TransferId, out var earlier))
            {
                decisions[i] = Refused(transfer.IsSameRequestAs(earlier)
                    ? TransferOutcome.Duplicate(requestedId, earlier)
                    : KeyReused(requestedId));
                continue;
            }

            if (plannedById.TryGetValue(transfer.TransferId, out var plannedIndex))
            {
                decisions[i] = transfer.IsSameRequestAs(planned[plannedIndex].Transfer)
                    ? new PlannedDecision(plannedIndex, IsDuplicate: true, null)
                    : Refused(KeyReused(requestedId));
                continue;
            }

            var refusal = CheckBalances(requestedId, transfer, balances, newBalances);
            if (refusal is not null)
            {
                decisions[i] = Refused(refusal);
                continue;
            }

            var postings = new CommittedPosting[transfer.Postings.Count];
            for (var p = 0; p < postings.Length; p++)
            {
                var (account, amount) = transfer.Postings[p];
                balances[account] = newBalances[p];
                deltas[account] = deltas.GetValueOrDefault(account) + amount;
                postings[p] = new CommittedPosting(account, amount, newBalances[p]);
            }
            plannedById[transfer.TransferId] = planned.Count;
            decisions[i] = new PlannedDecision(planned.Count, IsDuplicate: false, null);
            planned.Add(new PlannedTransfer(transfer, postings));
        }

        return new BatchPlan(decisions, planned, deltas);
    }

    private static TransferOutcome? CheckBalances(string requestedId, LedgerTransfer transfer, Dictionary<LedgerAccountId, long> balances, long[] newBalances)
    {
        for (var p = 0; p < transfer.Postings.Count; p++)
        {
            var (account, amount) = transfer.Postings[p];
            var balance = balances[account];
            long after;
            try
            {
                after = checked(balance + amount);
            }
            catch (OverflowException)
            {
                return TransferOutcome.Rejected(requestedId, LedgerErrors.BalanceOverflow,
                    $"The balance of {account} would leave the supported range.");
            }
            if (after < 0 && !account.MayGoNegative)
            {
                return TransferOutcome.InsufficientFunds(requestedId,
                    $"{account} holds {balance} minor units but the transfer needs {-amount}.");
            }
            newBalances[p] = after;
        }
        return null;
    }

    private static PlannedDecision Refused(TransferOutcome outcome) => new(-1, IsDuplicate: false, outcome);

    private static TransferOutcome KeyReused(string transferId) => TransferOutcome.Rejected(transferId, LedgerErrors.IdempotencyKeyReused,
        $"Transfer id {transferId} was already used for a different request.");
}
