using StreamBets.BetEngine.Pools;

namespace StreamBets.BetEngine.Placement;

/// <summary>
/// The rules a bet must pass before a bet id is assigned and any money can move. Pure: the pool snapshot and the
/// time the request arrived are all it needs, so these rules are unit-testable without a server.
/// </summary>
public static class BetRules
{
    /// <returns>Null when the bet may go on to the ledger; otherwise the first rule it breaks.</returns>
    public static BetRejection? Check(PlaceBetCommand bet, PoolSnapshot pool, DateTimeOffset arrivedAt)
    {
        switch (pool.State)
        {
            case PoolState.Draft:
                return new(BetRejectionCodes.PoolNotOpen, "The pool has not opened for bets yet.");
            case PoolState.Locked:
                return new(BetRejectionCodes.PoolLocked, "The pool is locked: no more bets.");
            case PoolState.Resolved or PoolState.Cancelled:
                return new(BetRejectionCodes.PoolNotOpen, $"The pool is {pool.State.ToString().ToLowerInvariant()}: no more bets.");
        }

        // The clock closes betting exactly on time, even before the PoolLocked event arrives.
        if (Closed(pool, arrivedAt) is { } closed)
        {
            return closed;
        }

        if (!pool.OutcomeIds.Contains(bet.OutcomeId))
        {
            return new(BetRejectionCodes.UnknownOutcome, "The outcome is not one of this pool's outcomes.");
        }

        if (bet.StakeMinor < pool.MinStakeMinor || bet.StakeMinor > pool.MaxStakeMinor)
        {
            return new(BetRejectionCodes.StakeOutOfRange,
                $"The stake must be between {pool.MinStakeMinor} and {pool.MaxStakeMinor} minor units.");
        }

        return null;
    }

    /// <summary>Betting on the pool had closed when the bet arrived: its window had ended, or it was locked by then.</summary>
    public static BetRejection? Closed(PoolSnapshot pool, DateTimeOffset arrivedAt) =>
        pool.BettingClosesAt is { } closesAt && arrivedAt >= closesAt
            ? new(BetRejectionCodes.PoolLocked, $"Betting closed at {closesAt:u}.")
            : null;
}
