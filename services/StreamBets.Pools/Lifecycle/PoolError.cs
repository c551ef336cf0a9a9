using System.Collections.ObjectModel;

namespace StreamBets.Pools.Lifecycle;

/// <summary>
/// A broken pool rule, as data. <see cref="Code"/> is stable: endpoints use it as the problem-details
/// <c>type</c> and clients switch on it. <see cref="FieldErrors"/> is filled only for <c>invalid-pool</c>,
/// keyed like a ValidationProblem's errors.
/// </summary>
public sealed record PoolError(string Code, string Detail)
{
    public IReadOnlyDictionary<string, string[]> FieldErrors { get; init; } = ReadOnlyDictionary<string, string[]>.Empty;

    internal static PoolError InvalidPool(Dictionary<string, string[]> fieldErrors) =>
        new(PoolErrorCodes.InvalidPool, "The pool definition breaks one or more rules.") { FieldErrors = fieldErrors };

    internal static PoolError NotOpen(PoolState state) =>
        new(PoolErrorCodes.PoolNotOpen, $"The pool is {state}, not open.");

    internal static PoolError Locked() =>
        new(PoolErrorCodes.PoolLocked, "The pool is locked: betting has closed.");

    internal static PoolError InvalidTransition(PoolState from, string action) =>
        new(PoolErrorCodes.InvalidTransition, $"A pool that is {from} cannot be {action}.");

    internal static PoolError UnknownOutcome(Guid outcomeId) =>
        new(PoolErrorCodes.UnknownOutcome, $"Outcome {outcomeId} does not belong to this pool.");

    internal static PoolError WinnerRequired() =>
        new(PoolErrorCodes.WinnerRequired, "A resolution names at least one winning outcome.");

    internal static PoolError StakeOutOfRange(Contracts.Money min, Contracts.Money max) =>
        new(PoolErrorCodes.StakeOutOfRange, $"A stake in this pool must be between {min} and {max}.");

    internal static PoolError PayoutTotalsMismatch(Payouts.OutcomeTotal declared, Contracts.Money seenStake, long seenBets) =>
        new(PoolErrorCodes.PayoutTotalsMismatch,
            $"Outcome {declared.OutcomeId} was declared with {declared.BetCount} bets staking {declared.Stake}, but {seenBets} bets staking {seenStake} arrived.");

    internal static PoolError PastDeclaration(Payouts.OutcomeTotal declared, Contracts.Money stake, Contracts.Money seenStake, long seenBets) =>
        new(PoolErrorCodes.PayoutTotalsMismatch,
            $"Outcome {declared.OutcomeId} was declared with {declared.BetCount} bets staking {declared.Stake}; a bet staking {stake} after {seenBets} bets staking {seenStake} goes past that.");

    internal static PoolError InvalidDeclaration(Payouts.OutcomeTotal declared) =>
        new(PoolErrorCodes.InvalidPayoutDeclaration,
            $"Outcome {declared.OutcomeId} is declared twice or with impossible totals ({declared.BetCount} bets staking {declared.Stake}).");

    internal static PoolError DeclaredTotalTooLarge() =>
        new(PoolErrorCodes.InvalidPayoutDeclaration,
            $"The declared stakes add up to more than {long.MaxValue} minor units, more than any pool can hold.");

    internal static PoolError SecondOutcome() =>
        new(PoolErrorCodes.SecondOutcome, "You already backed another outcome in this pool; you may only add to it.");
}

public static class PoolErrorCodes
{
    public const string InvalidPool = "invalid-pool";
    public const string PoolNotOpen = "pool-not-open";
    public const string PoolLocked = "pool-locked";
    public const string InvalidTransition = "invalid-transition";
    public const string UnknownOutcome = "unknown-outcome";
    public const string WinnerRequired = "winner-required";
    public const string StakeOutOfRange = "stake-out-of-range";
    public const string SecondOutcome = "second-outcome";
    public const string PayoutTotalsMismatch = "payout-totals-mismatch";
    public const string InvalidPayoutDeclaration = "invalid-payout-declaration";
}
