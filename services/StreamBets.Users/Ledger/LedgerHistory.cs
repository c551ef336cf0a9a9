namespace StreamBets.Users.Ledger;

/// <summary>One line of an account's statement.</summary>
public sealed record LedgerHistoryEntry(long Sequence, Guid TransferId, string Reason, string? Reference, DateTimeOffset CreatedAt, long AmountMinor, long BalanceAfterMinor);

/// <summary>
/// A page of history, newest first. <see cref="NextBefore"/> is the cursor for the next (older)
/// page, or null on the last page.
/// </summary>
public sealed record LedgerHistoryPage(IReadOnlyList<LedgerHistoryEntry> Entries, long? NextBefore)
{
    public const int DefaultLimit = 20;
    public const int MaxLimit = 100;
}

/// <summary>History cursors are the sequence of the last entry seen, as a decimal string; clients treat them as opaque.</summary>
public static class LedgerHistoryCursor
{
    public static string? Format(long? before) => before?.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>An empty cursor means the newest page.</summary>
    public static bool TryParse(string? cursor, out long? before)
    {
        before = null;
        if (string.IsNullOrEmpty(cursor))
        {
            return true;
        }
        if (long.TryParse(cursor, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value) && value > 0)
        {
            before = value;
            return true;
        }
        return false;
    }
}
