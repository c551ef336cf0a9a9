using System.Globalization;

namespace StreamBets.Admin.Operations;

/// <summary>How the console writes times and amounts: UTC to the second and reais, the same for every operator.</summary>
public static class Display
{
    public static string Time(DateTimeOffset? time) => time is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture) : "–";

    /// <summary>"1 bet", "3 bets".</summary>
    public static string Count(int count, string noun) => count == 1 ? $"1 {noun}" : $"{count} {noun}s";

    public static string Amount(long? minor) => minor is { } m ? Money.Format(m, CultureInfo.InvariantCulture) : "–";
}
