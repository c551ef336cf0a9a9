using System.Globalization;

namespace StreamBets.Web.Betting;

/// <summary>How long until a pool locks, as a player reads it: "1:05:09", "4:05", "0:09"; never negative.</summary>
public static class Countdown
{
    /// <summary>The last seconds get an urgent look.</summary>
    public static readonly TimeSpan Urgent = TimeSpan.FromSeconds(10);

    public static TimeSpan Remaining(DateTimeOffset? locksAt, DateTimeOffset now) =>
        locksAt is { } at && at > now ? at - now : TimeSpan.Zero;

    public static string Format(TimeSpan remaining)
    {
        // Rounded up: "0:01" shows until the very end, and "0:00" means betting has closed.
        var seconds = (long)Math.Ceiling(Math.Max(0, remaining.TotalSeconds));
        var (hours, minutes, secs) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
        return hours > 0
            ? string.Create(CultureInfo.InvariantCulture, $"{hours}:{minutes:00}:{secs:00}")
            : string.Create(CultureInfo.InvariantCulture, $"{minutes}:{secs:00}");
    }

    public static bool IsUrgent(TimeSpan remaining) => remaining > TimeSpan.Zero && remaining <= Urgent;
}
