using System.Globalization;

namespace StreamBets.Admin.Operations;

/// <summary>How the console writes times and amounts: UTC to the second and reais, the same for every operator.</summary>
public static class Display
{
    public static string Time(DateTimeOffset? time) => time is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture) : "–";

    public static string Amount(long? minor) => minor is { } m ? Money.Format(m, CultureInfo.InvariantCulture) : "–";
}
