namespace StreamBets.Users.Auth;

/// <summary>Token lifetimes and the login lockout, from configuration section "Auth".</summary>
public sealed class AuthOptions
{
    public const string SectionName = "Auth";

    /// <summary>Short, because a stolen access token cannot be recalled except through the Redis revocation list.</summary>
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How long one refresh token may wait unused before it expires.</summary>
    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromDays(14);

    /// <summary>The absolute end of a login session, however often it is refreshed.</summary>
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromDays(30);

    public int MaxFailedLogins { get; set; } = 5;
    public TimeSpan FailedLoginWindow { get; set; } = TimeSpan.FromMinutes(15);
    public TimeSpan LockoutDuration { get; set; } = TimeSpan.FromMinutes(15);

    public LockoutPolicy Lockout => new(MaxFailedLogins, FailedLoginWindow, LockoutDuration);
}
