using System.Globalization;

namespace StreamBets.Contracts;

/// <summary>
/// An amount of the deployment's single currency in integer minor units (centavos for BRL).
/// It never holds a fraction of a minor unit, so sums are exact and nothing is lost to rounding.
/// </summary>
public readonly record struct Money(long MinorUnits) : IComparable<Money>
{
    public static readonly Money Zero = new(0);

    /// <summary>Minor units per major unit; BRL and USD both have two decimal places.</summary>
    public const int MinorUnitsPerMajor = 100;

    public bool IsPositive => MinorUnits > 0;
    public bool IsNegative => MinorUnits < 0;

    public static Money FromMinor(long minorUnits) => new(minorUnits);

    public static Money operator +(Money a, Money b) => new(checked(a.MinorUnits + b.MinorUnits));
    public static Money operator -(Money a, Money b) => new(checked(a.MinorUnits - b.MinorUnits));
    public static Money operator -(Money a) => new(checked(-a.MinorUnits));
    public static bool operator <(Money a, Money b) => a.MinorUnits < b.MinorUnits;
    public static bool operator >(Money a, Money b) => a.MinorUnits > b.MinorUnits;
    public static bool operator <=(Money a, Money b) => a.MinorUnits <= b.MinorUnits;
    public static bool operator >=(Money a, Money b) => a.MinorUnits >= b.MinorUnits;

    public int CompareTo(Money other) => MinorUnits.CompareTo(other.MinorUnits);

    /// <summary>Formats as a decimal string such as "12.34" without ever going through floating point.</summary>
    public override string ToString()
    {
        var sign = MinorUnits < 0 ? "-" : "";
        var abs = MinorUnits == long.MinValue ? (ulong)long.MaxValue + 1 : (ulong)Math.Abs(MinorUnits);
        return string.Create(CultureInfo.InvariantCulture, $"{sign}{abs / MinorUnitsPerMajor}.{abs % MinorUnitsPerMajor:D2}");
    }
}
