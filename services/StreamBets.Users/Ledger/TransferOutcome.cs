namespace StreamBets.Users.Ledger;

public enum TransferStatus
{
    /// <summary>The transfer moved money now.</summary>
    Applied,

    /// <summary>The transfer id was applied before with the same request; the first result is returned and nothing moved again.</summary>
    Duplicate,

    /// <summary>An account that may not go negative would have; nothing moved and nothing was stored, so a later retry can succeed.</summary>
    InsufficientFunds,

    /// <summary>The request is malformed or reuses a transfer id for a different request; see the outcome's error reason.</summary>
    Rejected,
}

/// <summary>A transfer's effect on one account: the net amount (positive = credit) and the balance right after it.</summary>
public readonly record struct CommittedPosting(LedgerAccountId Account, long AmountMinor, long BalanceAfterMinor);

/// <summary>A transfer as the ledger recorded it; <paramref name="Sequence"/> is its position in the ledger.</summary>
public sealed record CommittedTransfer(
    Guid TransferId, long Sequence, string Reason, string? Reference, DateTimeOffset CreatedAt, IReadOnlyList<CommittedPosting> Postings);

/// <summary>
/// The answer to one transfer request; <see cref="TransferId"/> echoes the request. <see cref="Transfer"/>
/// is set when the transfer was applied, now or before.
/// </summary>
public sealed record TransferOutcome(string TransferId, TransferStatus Status, CommittedTransfer? Transfer, string? ErrorReason, string? Detail)
{
    public bool Succeeded => Status is TransferStatus.Applied or TransferStatus.Duplicate;

    public static TransferOutcome Applied(string transferId, CommittedTransfer transfer) => new(transferId, TransferStatus.Applied, transfer, null, null);

    public static TransferOutcome Duplicate(string transferId, CommittedTransfer transfer) => new(transferId, TransferStatus.Duplicate, transfer, null, null);

    public static TransferOutcome InsufficientFunds(string transferId, string detail) =>
        new(transferId, TransferStatus.InsufficientFunds, null, LedgerErrors.InsufficientFunds, detail);

    public static TransferOutcome Rejected(string transferId, string reason, string detail) =>
        new(transferId, TransferStatus.Rejected, null, reason, detail);
}
