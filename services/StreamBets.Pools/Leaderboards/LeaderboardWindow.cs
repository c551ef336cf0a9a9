using System.Globalization;
using StreamBets.Pools.Management;

namespace StreamBets.Pools.Leaderboards;

public enum LeaderboardPeriod
{
    Day,
    Week,
    All,
}

/// <summary>Whose net winnings a board ranks: everyone's ("global") or one channel's ("channel:twitch:12826").</summary>
public sealed record LeaderboardScope(Channel? Channel)
{
    public static readonly LeaderboardScope Global = new((Channel?)null);

    public override string ToString() => Channel is null ? "global" : $"channel:{Channel}";

    public static LeaderboardScope? TryParse(string? text) =>
        text == "global" ? Global
        : text is not null && text.StartsWith("channel:", StringComparison.Ordinal) && Channel.TryParse(text["channel:".Length..]) is { } channel ? new LeaderboardScope(channel)
        : null;
}

/// <summary>
/// The days a board covers, in UTC: one day, an ISO week (Monday to Sunday), or all time. Day and week boards are
/// kept in Redis a day past their end, then expire; the PostgreSQL rows stay for rebuilds. A channel's all-time board
/// expires 30 days after its last use instead (<see cref="Leaderboards.ChannelAllTimeKeptFor"/>); the global one never.
/// </summary>
public readonly record struct LeaderboardWindow(LeaderboardPeriod Period, DateOnly? From, DateOnly? To, string Key)
{
    public static LeaderboardWindow For(LeaderboardPeriod period, DateOnly day)
    {
        switch (period)
        {
            case LeaderboardPeriod.Day:
                return new(period, day, day, day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
            case LeaderboardPeriod.Week:
                var date = day.ToDateTime(TimeOnly.MinValue);
                var monday = DateOnly.FromDateTime(ISOWeek.ToDateTime(ISOWeek.GetYear(date), ISOWeek.GetWeekOfYear(date), DayOfWeek.Monday));
                return new(period, monday, monday.AddDays(6),
                    string.Create(CultureInfo.InvariantCulture, $"{ISOWeek.GetYear(date)}-W{ISOWeek.GetWeekOfYear(date):D2}"));
            default:
                return new(LeaderboardPeriod.All, null, null, "all");
        }
    }

    public static DateOnly DayOf(DateTimeOffset instant) => DateOnly.FromDateTime(instant.UtcDateTime);

    /// <summary>When Redis may forget the board; null for all time (a channel's all-time board expires after its last use).</summary>
    public DateTimeOffset? ExpiresAt => To is { } last ? new DateTimeOffset(last.AddDays(2).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero) : null;
}
