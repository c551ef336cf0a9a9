using System.Globalization;

namespace StreamBets.FrontEnd;

/// <summary>
/// Amounts are integer centavos end to end; only here do they become text ("R$ 25,00" in pt-BR, "R$25.00" in English),
/// and only here does typed text become centavos, without ever passing through a float.
/// </summary>
public static class Money
{
    public const string CurrencySymbol = "R$";

    public static string Format(long minor, CultureInfo? culture = null)
    {
        var format = (NumberFormatInfo)(culture ?? CultureInfo.CurrentCulture).NumberFormat.Clone();
        format.CurrencySymbol = CurrencySymbol;
        format.CurrencyDecimalDigits = 2;
        return (minor / 100m).ToString("C", format);
    }

    /// <summary>A signed amount for history lines: "+R$ 10,00" or "-R$ 2,50".</summary>
    public static string FormatSigned(long minor, CultureInfo? culture = null) =>
        minor > 0 ? "+" + Format(minor, culture) : minor < 0 ? "-" + Format(-minor, culture) : Format(0, culture);

    /// <summary>The amount as typed in a form field: "25", "25,5" (pt-BR) or "25.50" (English); no symbol, no grouping.</summary>
    public static string ToInput(long minor, CultureInfo? culture = null) =>
        (minor / 100m).ToString(minor % 100 == 0 ? "0" : "0.00", culture ?? CultureInfo.CurrentCulture);

    /// <summary>
    /// Reads reais as typed: "25", "25,5", "25,50" or "25.50". Either mark is a decimal separator followed by one or two
    /// digits; thousands separators are refused, since "1.000" means a thousand in pt-BR and one in English.
    /// </summary>
    public static bool TryParse(string? text, out long minor)
    {
        minor = 0;
        var trimmed = text?.Replace(CurrencySymbol, "", StringComparison.Ordinal).Trim() ?? "";
        var separator = trimmed.IndexOfAny([',', '.']);
        if (separator >= 0 && (trimmed.LastIndexOfAny([',', '.']) != separator || trimmed.Length - separator - 1 is < 1 or > 2))
        {
            return false;
        }
        if (trimmed.Length is 0 or > 15
            || !decimal.TryParse(trimmed.Replace(',', '.'), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var reais)
            || reais <= 0)
        {
            return false;
        }
        minor = (long)(reais * 100m);
        return true;
    }
}
