using StreamBets.Contracts;
using StreamBets.Pools.Lifecycle;

namespace StreamBets.Pools.Payouts;

/// <summary>The stake and number of bets on one outcome, declared before the bets themselves arrive.</summary>
public readonly record struct OutcomeTotal(Guid OutcomeId, Money Stake, long BetCount);

/// <summary>What a <see cref="PayoutRun"/> moved in all: payouts + rake + breakage = total, exactly.</summary>
public sealed record PayoutSummary(
    SettlementBasis Basis, Money Total, Money Paid, Money Rake, Money Breakage, long BetCount, long WinningBets, long RefundedBets);

/// <summary>
/// Settles a pool's bets as they stream in, in constant memory, paying exactly what <see cref="ParimutuelCalculator.Settle"/>
/// would pay for the same bets. Parimutuel payouts depend on the pool's totals, so the caller declares them up front
/// (per outcome); <see cref="Complete"/> then checks that the bets seen add up to that declaration, and the caller must
/// discard every line if it does not. A bet past the declared stake or bet count of its outcome is refused at once:
/// its payout could pass what the pool holds, and callers pay each chunk as it comes. Outcomes are referred to by their
/// index in the declaration.
/// </summary>
public sealed class PayoutRun
{
    private readonly OutcomeTotal[] _declared;
    private readonly bool[] _winning;
    private readonly PayoutRule _rule;
    private readonly long[] _seenStake;
    private readonly long[] _seenBets;
    private long _paid, _winningBets, _refundedBets;

    private PayoutRun(OutcomeTotal[] declared, bool[] winning, PayoutRule rule, long total)
    {
        _declared = declared;
        _winning = winning;
        _rule = rule;
        Total = total;
        _seenStake = new long[declared.Length];
        _seenBets = new long[declared.Length];
    }

    public SettlementBasis Basis => _rule.Basis;

    public long Total { get; }

    public int OutcomeCount => _declared.Length;

    internal static Result<PayoutRun> Start(IReadOnlyList<OutcomeTotal> declared, Guid[] winningOutcomeIds, int rakeBasisPoints) =>
        Declare(declared, winningOutcomeIds, (total, winningStake) => PayoutRule.ForResolved(total, winningStake, rakeBasisPoints));

    internal static Result<PayoutRun> StartRefund(IReadOnlyList<OutcomeTotal> declared) =>
        Declare(declared, [], (_, _) => PayoutRule.Refund(SettlementBasis.Cancelled));

    /// <summary>Why one more bet of <paramref name="stake"/> on the outcome would not fit its declared totals, if it would not.</summary>
    public PoolError? PastDeclaration(int outcomeIndex, Money stake)
    {
        var declared = _declared[outcomeIndex];
        var (seenStake, seenBets) = (_seenStake[outcomeIndex], _seenBets[outcomeIndex]);
        // Compared with what is left of the declaration: seen stakes never pass it, so this cannot overflow.
        return stake.MinorUnits > declared.Stake.MinorUnits - seenStake || seenBets == declared.BetCount
            ? PoolError.PastDeclaration(declared, stake, new Money(seenStake), seenBets)
            : null;
    }

    /// <summary>
    /// The payout of one bet; throws when the bet itself is malformed (its stake or outcome index) or goes past its
    /// outcome's declared totals (<see cref="PastDeclaration"/> says why).
    /// </summary>
    public (Money Payout, SettlementKind Kind) Settle(int outcomeIndex, Money stake)
    {
        if ((uint)outcomeIndex >= (uint)_declared.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(outcomeIndex), outcomeIndex, $"The declaration lists {_declared.Length} outcomes.");
        }

        if (!stake.IsPositive)
        {
            throw new ArgumentOutOfRangeException(nameof(stake), stake, "An accepted bet stakes at least one minor unit.");
        }

        if (PastDeclaration(outcomeIndex, stake) is { } past)
        {
            throw new ArgumentOutOfRangeException(nameof(stake), stake, past.Detail);
        }

        _seenStake[outcomeIndex] += stake.MinorUnits;
        _seenBets[outcomeIndex]++;
        var (payout, kind) = _rule.Line(stake.MinorUnits, _winning[outcomeIndex]);
        _paid += payout;
        if (kind == SettlementKind.Win)
        {
            _winningBets++;
        }
        else if (kind == SettlementKind.Refund)
        {
            _refundedBets++;
        }

        return (new Money(payout), kind);
    }

    /// <summary>The summary once every bet was seen, or <c>payout-totals-mismatch</c> if they do not add up to the declaration.</summary>
    public Result<PayoutSummary> Complete()
    {
        for (var i = 0; i < _declared.Length; i++)
        {
            if (_seenStake[i] != _declared[i].Stake.MinorUnits || _seenBets[i] != _declared[i].BetCount)
            {
                return PoolError.PayoutTotalsMismatch(_declared[i], new Money(_seenStake[i]), _seenBets[i]);
            }
        }

        var rake = _rule.Rake;
        var breakage = Total - rake - _paid;
        return new PayoutSummary(
            _rule.Basis, new Money(Total), new Money(_paid), new Money(rake), new Money(breakage),
            _seenBets.Sum(), _winningBets, _refundedBets);
    }

    private static Result<PayoutRun> Declare(IReadOnlyList<OutcomeTotal> declared, Guid[] winningOutcomeIds, Func<long, long, PayoutRule> rule)
    {
        var outcomes = declared.ToArray();
        var winning = new bool[outcomes.Length];
        long total = 0, winningStake = 0;
        var seen = new HashSet<Guid>();
        for (var i = 0; i < outcomes.Length; i++)
        {
            var outcome = outcomes[i];
            if (!seen.Add(outcome.OutcomeId) || outcome.Stake.IsNegative || outcome.BetCount < 0
                || (outcome.BetCount == 0) != (outcome.Stake.MinorUnits == 0) || outcome.Stake.MinorUnits < outcome.BetCount)
            {
                return PoolError.InvalidDeclaration(outcome);
            }

            // Declared totals come off the wire: a sum past long.MaxValue is the caller's mistake (InvalidArgument), not a crash.
            if (outcome.Stake.MinorUnits > long.MaxValue - total)
            {
                return PoolError.DeclaredTotalTooLarge();
            }

            total += outcome.Stake.MinorUnits;
            winning[i] = winningOutcomeIds.Contains(outcome.OutcomeId);
            if (winning[i])
            {
                winningStake += outcome.Stake.MinorUnits;
            }
        }

        return new PayoutRun(outcomes, winning, rule(total, winningStake), total);
    }
}
