using Npgsql;

namespace StreamBets.Users.Ledger;

/// <summary>A user's wallet balance changed because of one transfer.</summary>
public sealed record WalletChange(Guid UserId, long BalanceMinor, long DeltaMinor, string TransferId, string Reason, DateTimeOffset OccurredAt);

/// <summary>
/// Writes WalletChanged events in the ledger's own transaction, so an event exists exactly when the
/// money moved (the transactional outbox). The ledger calls it once per batch with every change.
/// </summary>
public interface IWalletChangeOutbox
{
    Task AddAsync(NpgsqlTransaction transaction, IReadOnlyList<WalletChange> changes, CancellationToken cancellationToken);
}
