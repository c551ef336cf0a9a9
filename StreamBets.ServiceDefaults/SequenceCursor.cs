using System.Globalization;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Where a list keyed by an increasing sequence (a bigint id) ends, newest first: the last item's sequence as a decimal
/// string, which clients treat as opaque. A list asks for items strictly before it. Empty means the newest page.
/// </summary>
public static class SequenceCursor
{
    public static string? Format(long? before) => before?.ToString(CultureInfo.InvariantCulture);

    /// <summary>True for a cursor this type issued (null for none, the first page); false for anything else.</summary>
    public static bool TryParse(string? cursor, out long? before)
    {
        before = null;
        if (string.IsNullOrEmpty(cursor))
        {
            return true;
        }
        if (long.TryParse(cursor, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0)
        {
            before = value;
            return true;
        }
        return false;
    }
}
