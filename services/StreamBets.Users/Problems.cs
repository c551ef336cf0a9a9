namespace StreamBets.Users;

/// <summary>Every broken rule the Users service answers with, by stable code.</summary>
public static class Problems
{
    public static DomainError EmailTaken() =>
        new("email-taken", StatusCodes.Status409Conflict, "Email already registered", "An account with this email address already exists.");

    public static DomainError DocumentTaken() =>
        new("document-taken", StatusCodes.Status409Conflict, "Document already registered", "An account with this identity document already exists.");

    /// <summary>Deliberately the same for an unknown email and a wrong password.</summary>
    public static DomainError InvalidCredentials() =>
        new("invalid-credentials", StatusCodes.Status401Unauthorized, "Invalid credentials", "The email or password is not correct.");

    public static DomainError AccountLocked(DateTimeOffset until) =>
        new("account-locked", StatusCodes.Status423Locked, "Account locked",
            $"Too many failed sign-in attempts. Try again after {until:u}.");

    /// <summary>A password change whose current password is wrong; counted as a failed sign-in (see Authenticator.ChangePasswordAsync).</summary>
    public static DomainError WrongPassword() =>
        new("wrong-password", StatusCodes.Status403Forbidden, "Wrong password", "The current password is not correct.");

    /// <summary>The caller's session ended (another session changed the password) while its request was under way.</summary>
    public static DomainError SessionEnded() =>
        new("session-ended", StatusCodes.Status401Unauthorized, "Session ended", "This session has ended. Sign in again.");

    public static DomainError InvalidRefreshToken() =>
        new("invalid-refresh-token", StatusCodes.Status401Unauthorized, "Invalid refresh token", "The refresh token is unknown, expired or its session has ended. Sign in again.");

    public static DomainError RefreshTokenReused() =>
        new("refresh-token-reused", StatusCodes.Status401Unauthorized, "Refresh token reused",
            "This refresh token was already used, so the session was ended to protect the account. Sign in again.");

    public static DomainError SessionLimitReached(int minutes) =>
        new("session-limit-reached", StatusCodes.Status403Forbidden, "Session time limit reached",
            $"You set a session limit of {minutes} minutes and this session has reached it. Take a break, then sign in again.");

    public static DomainError UserNotFound() =>
        new("user-not-found", StatusCodes.Status404NotFound, "User not found", "No account has this id.");

    public static DomainError RoleNotAssignable(string currentRole) =>
        new("role-not-assignable", StatusCodes.Status409Conflict, "Role cannot be changed",
            $"The account is an {currentRole}; admin accounts are managed outside the API.");

    public static DomainError KycTierTooLow(int required) =>
        new("kyc-tier-too-low", StatusCodes.Status409Conflict, "KYC tier too low", $"This step needs KYC tier {required} first.");

    public static DomainError KycAlreadyAtTier(int tier) =>
        new("kyc-already-verified", StatusCodes.Status409Conflict, "Already verified", $"The account is already at KYC tier {tier}.");

    public static DomainError KycCheckInProgress() =>
        new("kyc-check-in-progress", StatusCodes.Status409Conflict, "Check in progress", "An identity check is already pending or in review.");

    public static DomainError KycProviderUnavailable() =>
        new("kyc-provider-unavailable", StatusCodes.Status503ServiceUnavailable, "Identity checks unavailable",
            "No identity verification provider is configured or it did not answer. Try again later.");

    /// <summary>A completed check whose result the provider does not tell yet; not 2xx, so the provider delivers the webhook again.</summary>
    public static DomainError KycResultNotReady() =>
        new("kyc-result-not-ready", StatusCodes.Status503ServiceUnavailable, "Check result not ready",
            "The identity provider does not tell this check's result yet. Deliver the webhook again later.");

    /// <summary>
    /// The provider would not take these details of the player's (our field names, never its words, which may quote
    /// them). Only the legal name is sent with the start; the email and date of birth come from the account, which the
    /// player cannot change here, so for those the way on is support, not a retry.
    /// </summary>
    public static DomainError KycDetailsRefused(IReadOnlyList<string> fields)
    {
        var named = fields.Where(f => f is "firstName" or "lastName").ToList();
        var account = fields.Except(named).ToList();
        var detail = (named.Count > 0 ? $"The identity provider did not accept your {string.Join(", ", named)}: correct it as on your identity document, then start the check again. " : "")
            + (account.Count > 0 ? $"It did not accept your account's {string.Join(", ", account)}, which cannot be changed here: contact support." : "");
        return new("kyc-details-refused", StatusCodes.Status422UnprocessableEntity, "Details refused", detail.Trim());
    }

    public static DomainError KycCheckNotFound() =>
        new("kyc-check-not-found", StatusCodes.Status404NotFound, "Check not found", "No identity check has this id.");

    public static DomainError KycCheckNotInReview() =>
        new("kyc-check-not-in-review", StatusCodes.Status409Conflict, "Check not in review", "Only checks waiting in the review queue can be decided.");

    /// <summary>Four eyes: an admin's own identity check is decided by another admin.</summary>
    public static DomainError OwnKycReview() =>
        new("own-kyc-review", StatusCodes.Status403Forbidden, "Your own check",
            "Admins cannot approve or reject their own identity check; another admin must review it.");

    public static DomainError InvalidWebhookSignature() =>
        new("invalid-webhook-signature", StatusCodes.Status401Unauthorized, "Invalid signature", "The webhook signature does not match its body.");

    public static DomainError UnknownKycProvider() =>
        new("unknown-kyc-provider", StatusCodes.Status404NotFound, "Unknown provider", "No identity verification provider with this name is configured.");

    public static DomainError WebhookTooLarge(int maxBytes) =>
        new("request-too-large", StatusCodes.Status413PayloadTooLarge, "Webhook too large", $"A webhook body may have at most {maxBytes} bytes.");

    public static DomainError MalformedWebhook() =>
        new("malformed-webhook", StatusCodes.Status400BadRequest, "Malformed webhook", "The webhook body is not a valid event envelope.");
}
