namespace StreamBets.Users.Auth;

public sealed record LockoutPolicy(int MaxFailures, TimeSpan Window, TimeSpan LockDuration);

/// <summary>
/// Failed sign-ins for one email, from one source or from all: <see cref="LockoutPolicy.MaxFailures"/> failures within
/// <see cref="LockoutPolicy.Window"/> lock it for <see cref="LockoutPolicy.LockDuration"/>.
/// </summary>
public sealed record LoginFailures(int Count, DateTimeOffset WindowStartedAt, DateTimeOffset? LockedUntil)
{
    public bool IsLocked(DateTimeOffset now) => LockedUntil > now;

    public LoginFailures AfterFailure(DateTimeOffset now, LockoutPolicy policy)
    {
        // A failure after the window, or after a lock has run out, starts counting afresh.
        var startsAfresh = now - WindowStartedAt >= policy.Window || LockedUntil <= now;
        var failures = startsAfresh ? new LoginFailures(1, now, null) : this with { Count = Count + 1 };
        return failures.Count >= policy.MaxFailures && !failures.IsLocked(now)
            ? failures with { LockedUntil = now + policy.LockDuration }
            : failures;
    }
}
