namespace StreamBets.Users.Auth;

/// <summary>Token lifetimes and the login lockout, from configuration section "Auth".</summary>
public sealed class AuthOptions
{
    public const string SectionName = "Auth";

    /// <summary>Short, because a stolen access token cannot be recalled except through the Redis revocation list.</summary>
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How long one refresh token may wait unused before it expires.</summary>
    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromDays(14);

    /// <summary>
    /// How long after its first use a refresh token may be presented again, for a new successor: a refresh whose answer
    /// was lost (a timeout, a reset connection, a gateway's 502) is retried with the same token, and must not end the
    /// session. Later, a second presentation means the token was copied.
    /// </summary>
    public TimeSpan RefreshTokenReuseInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The absolute end of a login session, however often it is refreshed.</summary>
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromDays(30);

    /// <summary>
    /// How long a session and its refresh tokens are kept after it ended (revoked or expired), for support, before the
    /// hourly cleanup deletes them. Never less than <see cref="AccessTokenLifetime"/>: until then an ended session's
    /// access tokens may still be announced as revoked (SessionStore.RecentlyRevokedAsync).
    /// </summary>
    public TimeSpan EndedSessionRetention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Failures for one email from one source (the client's site: an IPv4 address, an IPv6 /48) that lock sign-in from that source.</summary>
    public int MaxFailedLogins { get; set; } = 5;

    /// <summary>
    /// Failures for one email from all sources together that lock it for everyone: against guessing spread over many
    /// addresses. Far above <see cref="MaxFailedLogins"/>, so that locking a player out takes many networks.
    /// </summary>
    public int MaxFailedLoginsPerEmail { get; set; } = 50;

    public TimeSpan FailedLoginWindow { get; set; } = TimeSpan.FromMinutes(15);
    public TimeSpan LockoutDuration { get; set; } = TimeSpan.FromMinutes(15);

    public LockoutPolicy SourceLockout => new(MaxFailedLogins, FailedLoginWindow, LockoutDuration);
    public LockoutPolicy EmailLockout => new(MaxFailedLoginsPerEmail, FailedLoginWindow, LockoutDuration);
}
