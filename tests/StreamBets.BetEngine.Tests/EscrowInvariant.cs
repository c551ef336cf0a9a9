using Npgsql;
using StreamBets.BetEngine.Ledger;

namespace StreamBets.BetEngine.Tests;

/// <summary>One bet of a pool as betsdb holds it, with what the ledger did with its money.</summary>
public sealed record BetMoney(
    Guid BetId, Guid UserId, Guid OutcomeId, long StakeMinor, string Status, string? RejectionCode, string? RefundStatus,
    int StakeTransfers, int RefundTransfers)
{
    public override string ToString() =>
        $"{BetId} {Status}{(RejectionCode is null ? "" : $" ({RejectionCode})")} refund={RefundStatus ?? "-"} stake={StakeMinor} " +
        $"stake transfers={StakeTransfers} refund transfers={RefundTransfers}";
}

/// <summary>
/// The money rule of a pool, read from betsdb and the Users ledger: the pool's escrow holds the accepted stakes plus the
/// refunds still due, no stake or refund moved twice, no bet both accepted and refunded, and every bet's state agrees
/// with what the ledger did with its stake.
/// </summary>
public static class EscrowInvariant
{
    public static async Task<List<BetMoney>> ReadAsync(BetEngineStack stack, Guid poolId)
    {
        var bets = new List<(Guid BetId, Guid UserId, Guid OutcomeId, long Stake, string Status, string? Code, string? Refund)>();
        await using (var command = stack.BetsDb.CreateCommand(
            "SELECT bet_id, user_id, outcome_id, stake_minor, status, rejection_code, refund_status FROM bets WHERE pool_id = $1 ORDER BY placed_at, bet_id"))
        {
            command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = poolId });
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                bets.Add((reader.GetGuid(0), reader.GetGuid(1), reader.GetGuid(2), reader.GetInt64(3), reader.GetString(4),
                    reader.IsDBNull(5) ? null : reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetString(6)));
            }
        }

        // Every transfer the ledger applied for these bets (stakes and refunds carry the reference "bet:{betId}").
        var transfers = new Dictionary<(string Reference, string Reason), int>();
        await using (var command = stack.UsersDb.CreateCommand(
            "SELECT reference, reason, count(*)::int FROM ledger_transfers WHERE reference = ANY($1) GROUP BY 1, 2"))
        {
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. bets.Select(b => $"bet:{b.BetId}")] });
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                transfers[(reader.GetString(0), reader.GetString(1))] = reader.GetInt32(2);
            }
        }
        return [.. bets.Select(b => new BetMoney(b.BetId, b.UserId, b.OutcomeId, b.Stake, b.Status, b.Code, b.Refund,
            transfers.GetValueOrDefault(($"bet:{b.BetId}", StakeLedger.StakeReason)),
            transfers.GetValueOrDefault(($"bet:{b.BetId}", StakeLedger.RefundReason))))];
    }

    /// <summary>
    /// Checks the rule at a quiet moment (no ledger call in flight) and returns what is wrong, empty when nothing is.
    /// With <paramref name="settled"/>, recovery has run to the end: no bet is pending and no refund is due.
    /// </summary>
    public static async Task<List<string>> ViolationsAsync(BetEngineStack stack, TestPool pool, bool settled)
    {
        var bets = await ReadAsync(stack, pool.Id);
        var wrong = new List<string>();
        foreach (var bet in bets)
        {
            if (bet.StakeTransfers > 1 || bet.RefundTransfers > 1)
            {
                wrong.Add($"money moved twice: {bet}");
            }
            var fine = bet.Status switch
            {
                "accepted" => bet is { StakeTransfers: 1, RefundTransfers: 0, RefundStatus: null },
                // Rejected with nothing moved; or moved and given back; or moved and still owed (its refund may have
                // applied with the answer lost, but not at the end).
                "rejected" => bet.RefundStatus switch
                {
                    null => bet is { StakeTransfers: 0, RefundTransfers: 0 },
                    "done" => bet is { StakeTransfers: 1, RefundTransfers: 1 },
                    "due" => bet.StakeTransfers == 1 && !settled,
                    _ => false,
                },
                "pending" => bet.RefundTransfers == 0 && bet.RefundStatus is null && !settled,
                _ => false,
            };
            if (!fine)
            {
                wrong.Add($"state and money disagree: {bet}");
            }
        }

        var accepted = bets.Where(b => b.Status == "accepted").ToArray();
        var refundsOwed = bets.Where(b => b is { RefundStatus: "due", RefundTransfers: 0 }).Sum(b => b.StakeMinor);
        var pendingMoved = bets.Where(b => b is { Status: "pending", StakeTransfers: 1 }).Sum(b => b.StakeMinor);
        var escrow = await stack.BalanceAsync(pool.Escrow);
        if (escrow != accepted.Sum(b => b.StakeMinor) + refundsOwed + pendingMoved)
        {
            wrong.Add($"escrow {escrow} != accepted {accepted.Sum(b => b.StakeMinor)} + refunds still due {refundsOwed} + stakes of pending bets {pendingMoved}");
        }
        var totals = await stack.ScalarAsync("SELECT coalesce(sum(staked_minor), 0) FROM pool_outcome_totals WHERE pool_id = $1", pool.Id);
        var counted = await stack.ScalarAsync("SELECT coalesce(sum(bet_count), 0) FROM pool_outcome_totals WHERE pool_id = $1", pool.Id);
        if ((totals, counted) != (accepted.Sum(b => b.StakeMinor), accepted.Length))
        {
            wrong.Add($"pool totals {totals} in {counted} bets != accepted {accepted.Sum(b => b.StakeMinor)} in {accepted.Length} bets");
        }
        foreach (var player in accepted.GroupBy(b => b.UserId).Where(g => g.Select(b => b.OutcomeId).Distinct().Count() > 1))
        {
            wrong.Add($"player {player.Key} has accepted bets on two outcomes");
        }
        if (settled)
        {
            var batches = await stack.PendingBatchesOfPoolAsync(pool.Id);
            if (batches != 0)
            {
                wrong.Add($"{batches} pending batches left");
            }
        }
        var (sum, negative) = await LedgerTotalsOf(stack);
        if ((sum, negative) != (0, 0))
        {
            wrong.Add($"ledger not exact: balances sum to {sum}, {negative} negative accounts");
        }
        return wrong;
    }

    private static Task<(long Sum, long NegativeAccounts)> LedgerTotalsOf(BetEngineStack stack) => StreamBets.Testing.LedgerTotals.ReadAsync(stack.UsersDb);

    /// <summary>Asserts the rule (see <see cref="ViolationsAsync"/>), listing every bet when it does not hold.</summary>
    public static async Task AssertAsync(BetEngineStack stack, TestPool pool, bool settled, string context = "")
    {
        var wrong = await ViolationsAsync(stack, pool, settled);
        if (wrong.Count > 0)
        {
            var bets = await ReadAsync(stack, pool.Id);
            Assert.Fail($"{context}The escrow rule does not hold:\n  {string.Join("\n  ", wrong)}\nBets:\n  {string.Join("\n  ", bets)}");
        }
    }
}
