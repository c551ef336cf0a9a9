using StreamBets.BetEngine.Ledger;

namespace StreamBets.BetEngine.Placement;

/// <summary>
/// Which outcome a player backs, as a batch decides it before its finalize: the one already stored, else the first
/// outcome the player chose (in placement order) on which one of their stakes moved. A bet whose stake the ledger
/// refused (insufficient funds) backs nothing, so the player's bet on another outcome still stands. The primary key of
/// pool_user_outcomes enforces the rule for good in the finalize, against races between batches and replicas.
/// </summary>
internal static class OneOutcomeRule
{
    /// <summary>Adds the outcome of each user in <paramref name="tried"/> who backs none in <paramref name="backed"/> yet
    /// and had a stake move.</summary>
    /// <param name="tried">Bets whose stakes went to the ledger, in placement order, each with what the ledger did.</param>
    public static void ClaimMoved(Dictionary<Guid, Guid> backed, IReadOnlyList<(PendingBet Bet, StakeMovement Movement)> tried)
    {
        var moved = tried.Where(t => t.Movement == StakeMovement.Moved).Select(t => (t.Bet.UserId, t.Bet.OutcomeId)).ToHashSet();
        foreach (var (bet, _) in tried)
        {
            if (moved.Contains((bet.UserId, bet.OutcomeId)))
            {
                backed.TryAdd(bet.UserId, bet.OutcomeId);
            }
        }
    }
}
