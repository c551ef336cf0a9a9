namespace StreamBets.Users.ResponsibleGambling;

/// <summary>
/// A player's self-exclusion. It starts at once and blocks betting, deposits and marketing until it
/// ends (never, if indefinite); withdrawals stay open so the player can take their money out.
/// </summary>
public sealed record SelfExclusion(string Period, DateTimeOffset StartedAt, DateTimeOffset? EndsAt)
{
    public static readonly IReadOnlyList<string> Periods = ["6-months", "12-months", "indefinite"];

    // No "started by now" term: an exclusion never starts in the future, and a replica whose clock is a second behind the
    // one that stored it would take it as inactive (and let a shorter request replace it).
    public bool IsActive(DateTimeOffset now) => EndsAt is null || EndsAt > now;

    public static SelfExclusion Start(string period, DateTimeOffset now) => period switch
    {
        "6-months" => new SelfExclusion(period, now, now.AddMonths(6)),
        "12-months" => new SelfExclusion(period, now, now.AddMonths(12)),
        "indefinite" => new SelfExclusion(period, now, null),
        _ => throw new ArgumentOutOfRangeException(nameof(period), period, "Unknown self-exclusion period."),
    };

    /// <summary>A new request may lengthen an active exclusion but never shorten it.</summary>
    public static SelfExclusion Combine(SelfExclusion? current, SelfExclusion requested, DateTimeOffset now)
    {
        if (current is null || !current.IsActive(now))
        {
            return requested;
        }
        var requestedIsLonger = current.EndsAt is { } currentEnd && (requested.EndsAt is null || requested.EndsAt > currentEnd);
        return requestedIsLonger ? requested with { StartedAt = current.StartedAt } : current;
    }
}
