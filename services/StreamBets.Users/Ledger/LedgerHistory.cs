namespace StreamBets.Users.Ledger;

/// <summary>One line of an account's statement; <see cref="PoolId"/> is the pool whose escrow the money came from or went to.</summary>
public sealed record LedgerHistoryEntry(long Sequence, Guid TransferId, string Reason, string? Reference, DateTimeOffset CreatedAt, long AmountMinor, long BalanceAfterMinor, Guid? PoolId);

/// <summary>
/// A page of history, newest first. <see cref="NextBefore"/> is the cursor for the next (older)
/// page (a <see cref="SequenceCursor"/>), or null on the last page.
/// </summary>
public sealed record LedgerHistoryPage(IReadOnlyList<LedgerHistoryEntry> Entries, long? NextBefore)
{
    public const int DefaultLimit = 20;
    public const int MaxLimit = 100;
}
