using System.Globalization;
using StreamBets.Web.Gateway;

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
        if (RefundsEveryone(total, onOutcome))
        {
            return stakeMinor;
        }
        var netPool = total - RakeWhenWon(total, onOutcome, rakeBasisPoints);
        return (long)((Int128)stakeMinor * netPool / onOutcome);
    }

    /// <summary>
    /// Whether settlement refunds every stake, rake-free, instead of paying winners (docs/pools.md, "resolved"): nobody
    /// backed a winner, or nobody backed a loser (a pool only one outcome was backed in, whichever won). A pool with no
    /// stakes at all has nothing to refund.
    /// </summary>
    /// <param name="winningStakedMinor">What is staked on all the winning outcomes together.</param>
    public static bool RefundsEveryone(long totalStakedMinor, long winningStakedMinor) =>
        totalStakedMinor > 0 && (winningStakedMinor <= 0 || winningStakedMinor >= totalStakedMinor);

    /// <summary>Whether resolving the pool to <paramref name="winners"/> refunds every stake (<see cref="RefundsEveryone(long, long)"/>), by its stakes per outcome.</summary>
    public static bool RefundsEveryone(Pool pool, IEnumerable<Guid> winners)
    {
        var winning = winners.ToHashSet();
        return RefundsEveryone(pool.TotalStakedMinor, pool.Outcomes.Where(o => winning.Contains(o.Id)).Sum(o => o.StakedMinor));
    }

    /// <summary>Whether a resolved pool was (or is being) settled as a refund of every stake, by its winners and final stakes.</summary>
    public static bool IsRefundedResult(Pool pool) => pool.State == "resolved" && RefundsEveryone(pool, pool.WinningOutcomeIds);

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

    /// <summary>
    /// What the player's stake already on the outcome pays if it wins. The totals come from Pools, which counts a bet when
    /// its BetsPlaced event arrives, so a read just after the bet may not hold it yet; nothing in the read says which.
    /// Of the two cases the lower is taken, so the figure shown is never more than settlement pays if nothing else
    /// changes. Stake joining the winning side lowers the return, so that is nearly always the bet not counted yet: once
    /// Pools has counted it, the figure understates by the bet's own effect on the pool.
    /// </summary>
    public static long ExistingStakePayoutMinor(long totalStakedMinor, long outcomeStakedMinor, long stakeMinor, int rakeBasisPoints)
    {
        var notCountedYet = PotentialPayoutMinor(totalStakedMinor, outcomeStakedMinor, stakeMinor, rakeBasisPoints);
        if (outcomeStakedMinor < stakeMinor)
        {
            return notCountedYet; // the outcome holds less than the stake: the totals cannot count it
        }
        var counted = PotentialPayoutMinor(totalStakedMinor - stakeMinor, outcomeStakedMinor - stakeMinor, stakeMinor, rakeBasisPoints);
        return Math.Min(counted, notCountedYet);
    }

    /// <summary>
    /// What a resolved pool pays per unit on an outcome, by settlement's rule (docs/pools.md, "resolved"): the winners
    /// share the net pool, so in a dead heat each returns (T − rake) / (their stakes together); a loser returns nothing
    /// (null). When settlement refunds instead (nobody backed a winner, or nobody backed a loser), every backed outcome
    /// returns 1. An outcome nobody backed stays null.
    /// </summary>
    /// <param name="winningStakedMinor">What is staked on all the winning outcomes together.</param>
    public static decimal? ResolvedReturnPerUnit(long totalStakedMinor, long winningStakedMinor, long outcomeStakedMinor, bool won, int rakeBasisPoints) =>
        outcomeStakedMinor <= 0 ? null
        : RefundsEveryone(totalStakedMinor, winningStakedMinor) ? 1m
        : won ? ReturnPerUnit(totalStakedMinor, winningStakedMinor, rakeBasisPoints)
        : null;

    /// <summary>
    /// A return per unit as the site shows it: floored to two decimals, as payouts are floored. 1,900 over 951 (1.9979…)
    /// shows 1.99: 10.00 staked is paid 19.97, not the 20.00 that "2.00" would promise.
    /// </summary>
    public static string FormatReturnPerUnit(decimal returnPerUnit) =>
        (Math.Floor(returnPerUnit * 100) / 100).ToString("0.00", CultureInfo.CurrentCulture);

    /// <summary>The outcome's share of the pool in percent (0 to 100), for the width of its odds bar.</summary>
    public static double SharePercent(long totalStakedMinor, long outcomeStakedMinor) =>
        totalStakedMinor <= 0 ? 0 : Math.Round(100.0 * outcomeStakedMinor / totalStakedMinor, 1);
}
