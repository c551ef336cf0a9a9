using Npgsql;

namespace StreamBets.Users.Ledger;

// SEAM(messaging): stands in for the transactional outbox until the messaging branch's
// "events+outbox API" is merged; then WalletChanged is written through it in the ledger's transaction.
internal sealed class PendingWalletChangeOutbox : IWalletChangeOutbox
{
    public Task AddAsync(NpgsqlTransaction transaction, IReadOnlyList<WalletChange> changes, CancellationToken cancellationToken) => Task.CompletedTask;
}
