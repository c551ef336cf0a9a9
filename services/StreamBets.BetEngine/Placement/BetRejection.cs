namespace StreamBets.BetEngine.Placement;

/// <summary>A broken bet rule, by stable code (the problem type is https://streambets.dev/problems/{code}).</summary>
public sealed record BetRejection(string Code, string Detail);

/// <summary>Every code a placement can be refused with. Clients switch on these; never rename one.</summary>
public static class BetRejectionCodes
{
    public const string PoolNotFound = "pool-not-found";
    public const string PoolNotOpen = "pool-not-open";
    public const string PoolLocked = "pool-locked";

    /// <summary>The bet was admitted while the pool was open, but the pool was resolved or cancelled (or its settlement
    /// began) before the bet was completed; a stake that had moved was returned.</summary>
    public const string PoolClosed = "pool-closed";
    public const string UnknownOutcome = "unknown-outcome";
    public const string StakeOutOfRange = "stake-out-of-range";
    public const string InsufficientFunds = "insufficient-funds";
    public const string SecondOutcome = "second-outcome";
    public const string IdempotencyKeyReused = "idempotency-key-reused";

    /// <summary>The ledger refused the stake for another reason than funds (its reason is in the detail).</summary>
    public const string WalletRejected = "wallet-rejected";

    /// <summary>Users or Pools did not answer: nothing was recorded and the request may be retried with the same key.</summary>
    public const string DependencyUnavailable = "dependency-unavailable";

    // CheckEligibility's reasons, passed through unchanged.
    public const string SelfExcluded = "self-excluded";
    public const string KycTierTooLow = "kyc-tier-too-low";
    public const string UnderAge = "under-age";
    public const string AccountLocked = "account-locked";
    public const string SessionLimitReached = "session-limit-reached";
    public const string UserNotFound = "user-not-found";

    /// <summary>Any other refusal from CheckEligibility.</summary>
    public const string NotEligible = "not-eligible";

    public static readonly IReadOnlySet<string> EligibilityCodes = new HashSet<string>(StringComparer.Ordinal)
    {
        SelfExcluded, KycTierTooLow, UnderAge, AccountLocked, SessionLimitReached,
    };
}
