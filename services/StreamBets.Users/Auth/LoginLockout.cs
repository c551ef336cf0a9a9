namespace StreamBets.Users.Auth;

public sealed record LockoutPolicy(int MaxFailures, TimeSpan Window, TimeSpan LockDuration);

/// <summary>
/// Failed sign-ins for one email, from one source or from all: <see cref="LockoutPolicy.MaxFailures"/> failures within any
/// <see cref="LockoutPolicy.Window"/> lock it for <see cref="LockoutPolicy.LockDuration"/>. The window slides: the times
/// of the last <see cref="LockoutPolicy.MaxFailures"/> failures are kept (no more are ever needed), so failures on both
/// sides of a window that started at the first one still lock.
/// </summary>
/// <param name="FailedAt">The failures that still count, oldest first.</param>
public sealed record LoginFailures(IReadOnlyList<DateTimeOffset> FailedAt, DateTimeOffset? LockedUntil)
{
    public static readonly LoginFailures None = new([], null);

    public int Count => FailedAt.Count;

    public bool IsLocked(DateTimeOffset now) => LockedUntil > now;

    public LoginFailures AfterFailure(DateTimeOffset now, LockoutPolicy policy)
    {
        // A failure after a lock has run out starts counting afresh: the failures that locked do not lock again.
        var lockRanOut = LockedUntil <= now;
        var earlier = lockRanOut ? [] : FailedAt.Where(at => now - at < policy.Window);
        var failures = new LoginFailures([.. earlier.Append(now).TakeLast(policy.MaxFailures)], lockRanOut ? null : LockedUntil);
        return failures.Count >= policy.MaxFailures && !failures.IsLocked(now)
            ? failures with { LockedUntil = now + policy.LockDuration }
            : failures;
    }
}
