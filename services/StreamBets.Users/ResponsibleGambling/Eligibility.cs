using StreamBets.Users.Accounts;
using StreamBets.Users.Kyc;

namespace StreamBets.Users.ResponsibleGambling;

public enum PlayerAction
{
    Bet,
    Deposit,
    Withdraw,
}

/// <summary>
/// The stable reason codes of CheckEligibility. <c>account-locked</c> is no longer one (callers still list it): a sign-in
/// lockout stops sign-ins, not the money of a player whose session proved the password (docs/users.md, "Lockout").
/// </summary>
public static class EligibilityReasons
{
    public const string UnderAge = "under-age";
    public const string SelfExcluded = "self-excluded";
    public const string KycTierTooLow = "kyc-tier-too-low";
    public const string SessionLimitReached = "session-limit-reached";
    public const string DepositLimitExceeded = "deposit-limit-exceeded";

    /// <summary>CheckEligibilityBatch only: the single call answers NOT_FOUND instead.</summary>
    public const string UserNotFound = "user-not-found";
}

public sealed record EligibilityDecision(bool Allowed, string? Reason, string Message, int KycTier, long? DepositAllowanceMinor);

/// <summary>Everything about a player that eligibility depends on, read in one round trip.</summary>
public sealed record EligibilitySnapshot(
    DateOnly DateOfBirth,
    int KycTier,
    SelfExclusion? SelfExclusion,
    DateTimeOffset? SessionStartedAt,
    PlayerLimits Limits,
    IReadOnlyDictionary<LimitKind, long> DepositedInWindow);

/// <summary>
/// Whether a player may bet, deposit or withdraw now. Rules are checked from the most fundamental
/// to the most specific, and the first that fails is the answer.
/// </summary>
public static class EligibilityRules
{
    public static EligibilityDecision Decide(EligibilitySnapshot player, PlayerAction action, long? amountMinor, DateTimeOffset now)
    {
        var tier = player.KycTier;
        long? allowance = action == PlayerAction.Deposit ? player.Limits.DepositAllowance(now, player.DepositedInWindow) : null;
        EligibilityDecision Deny(string reason, string message) => new(false, reason, message, tier, allowance);

        if (!AccountRules.IsAdult(player.DateOfBirth, AccountRules.AgeDate(now)))
        {
            return Deny(EligibilityReasons.UnderAge, $"Players must be at least {AccountRules.MinimumAge} years old.");
        }
        if (action != PlayerAction.Withdraw && player.SelfExclusion?.IsActive(now) == true)
        {
            return Deny(EligibilityReasons.SelfExcluded, player.SelfExclusion.EndsAt is { } ends
                ? $"You are self-excluded until {ends:u}. Withdrawals remain available."
                : "You are self-excluded indefinitely. Withdrawals remain available.");
        }

        var requiredTier = action == PlayerAction.Withdraw ? KycTiers.Verified : KycTiers.DocumentAccepted;
        if (tier < requiredTier)
        {
            return Deny(EligibilityReasons.KycTierTooLow, action == PlayerAction.Withdraw
                ? "Withdrawals need a verified identity document and selfie (KYC tier 2)."
                : "Betting and deposits need a valid identity document number (KYC tier 1).");
        }

        if (action != PlayerAction.Withdraw
            && player.SessionStartedAt is { } started
            && player.Limits[LimitKind.SessionMinutes].EffectiveValue(now) is { } minutes
            && now - started >= TimeSpan.FromMinutes(minutes))
        {
            return Deny(EligibilityReasons.SessionLimitReached, $"This session has reached your {minutes}-minute session limit. Sign in again later.");
        }

        if (action == PlayerAction.Deposit && allowance is { } remaining && (amountMinor ?? 1) > remaining)
        {
            return Deny(EligibilityReasons.DepositLimitExceeded, $"Your deposit limits allow {remaining} more (minor units) right now.");
        }

        return new EligibilityDecision(true, null, "Allowed.", tier, allowance);
    }
}
