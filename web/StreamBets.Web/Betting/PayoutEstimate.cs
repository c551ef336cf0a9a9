namespace StreamBets.Web.Betting;

/// <summary>
/// What a stake would pay if its outcome won and no other bet arrived, by the same parimutuel rule settlement uses
/// (docs: payout = floor(s × (T − R) / W) with rake R = min(floor(T × r), T − W), never more than the losers staked),
/// with the new stake added to both the pool total T and the outcome's stake W. It is an estimate: later bets move it
/// until the pool locks.
/// </summary>
public static class PayoutEstimate
{
    public const int BasisPointsPerUnit = 10_000;

    /// <param name="totalStakedMinor">Everything staked on the pool so far.</param>
    /// <param name="outcomeStakedMinor">What is staked on the chosen outcome so far.</param>
    /// <param name="stakeMinor">The new stake.</param>
    /// <param name="rakeBasisPoints">The house's cut in basis points (500 = 5 %).</param>
    public static long PotentialPayoutMinor(long totalStakedMinor, long outcomeStakedMinor, long stakeMinor, int rakeBasisPoints)
    {
        if (stakeMinor <= 0)
        {
            return 0;
        }
        var total = totalStakedMinor + stakeMinor;
        var onOutcome = outcomeStakedMinor + stakeMinor;
        // Nobody on the other side: settlement refunds everyone, rake-free.
        if (onOutcome >= total)
        {
            return stakeMinor;
        }
        var netPool = total - RakeWhenWon(total, onOutcome, rakeBasisPoints);
        return (long)((Int128)stakeMinor * netPool / onOutcome);
    }

    /// <summary>The rake if the outcome holding <paramref name="winningMinor"/> won: floored as settlement floors it, and never more than the losers staked.</summary>
    public static long RakeWhenWon(long totalMinor, long winningMinor, int rakeBasisPoints) =>
        Math.Min((long)((Int128)totalMinor * rakeBasisPoints / BasisPointsPerUnit), totalMinor - winningMinor);

    /// <summary>
    /// The return per unit staked now (stake included) if the outcome won: 2.5 means R$ 10 returns R$ 25. Null while nobody
    /// backs the outcome; 1 when it holds the whole pool (a refund).
    /// </summary>
    public static decimal? ReturnPerUnit(long totalStakedMinor, long outcomeStakedMinor, int rakeBasisPoints) =>
        outcomeStakedMinor <= 0 ? null
        : outcomeStakedMinor >= totalStakedMinor ? 1m
        : (decimal)(totalStakedMinor - RakeWhenWon(totalStakedMinor, outcomeStakedMinor, rakeBasisPoints)) / outcomeStakedMinor;

    /// <summary>The outcome's share of the pool in percent (0 to 100), for the width of its odds bar.</summary>
    public static double SharePercent(long totalStakedMinor, long outcomeStakedMinor) =>
        totalStakedMinor <= 0 ? 0 : Math.Round(100.0 * outcomeStakedMinor / totalStakedMinor, 1);
}
