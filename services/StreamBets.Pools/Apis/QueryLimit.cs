using System.Globalization;

namespace StreamBets.Pools.Apis;

/// <summary>
/// The <c>limit</c> of a list read. It is read here from the raw text, not bound as <c>int?</c>: a value the framework
/// cannot parse ("ten", 99999999999) would reach the shared exception handler, whose 400 has no problem type and names
/// no field.
/// </summary>
internal static class QueryLimit
{
    /// <summary>
    /// The limit asked for, or <paramref name="byDefault"/> when none is; when it is no whole number from 1 to
    /// <paramref name="max"/>, adds the rule to <paramref name="errors"/> under "limit" and returns <paramref name="byDefault"/>.
    /// </summary>
    public static int Read(string? limit, int max, int byDefault, IDictionary<string, string[]> errors)
    {
        if (string.IsNullOrEmpty(limit))
        {
            return byDefault;
        }

        if (int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= 1 && value <= max)
        {
            return value;
        }

        errors["limit"] = [$"The limit is a whole number from 1 to {max}."];
        return byDefault;
    }
}
