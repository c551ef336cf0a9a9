using Npgsql;
using StreamBets.Users.Data;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;

namespace StreamBets.Users.Kyc;

/// <summary>
/// The one way a KYC standing changes: the user's tier (when it moves), the audit row and the
/// KycStatusChanged event are written in the caller's transaction, so they commit together or not at all.
/// </summary>
public sealed class KycTierChanges(IOutbox outbox)
{
    public async Task RecordAsync(
        NpgsqlTransaction transaction, Guid userId, int fromTier, int toTier, string status, string reason, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var connection = transaction.Connection!;
        if (toTier != fromTier)
        {
            await using var update = new NpgsqlCommand("UPDATE users SET kyc_tier = $2, updated_at = $3 WHERE id = $1", connection, transaction)
                .With(userId).With((short)toTier).With(now);
            await update.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var audit = new NpgsqlCommand(
            "INSERT INTO kyc_status_changes (user_id, from_tier, to_tier, status, reason, changed_at) VALUES ($1, $2, $3, $4, $5, $6)",
            connection, transaction))
        {
            audit.With(userId).With((short)fromTier).With((short)toTier).With(status).With(reason).With(now);
            await audit.ExecuteNonQueryAsync(cancellationToken);
        }

        await outbox.AddAsync(transaction, new KycStatusChanged(userId, status, toTier, reason, now), cancellationToken);
    }

    /// <summary>Reads the tier under a row lock, so concurrent changes to one user serialise.</summary>
    public static async Task<int?> LockTierAsync(NpgsqlTransaction transaction, Guid userId, CancellationToken cancellationToken)
    {
        await using var select = new NpgsqlCommand("SELECT kyc_tier FROM users WHERE id = $1 FOR UPDATE", transaction.Connection, transaction).With(userId);
        return await select.ExecuteScalarAsync(cancellationToken) is short tier ? tier : null;
    }
}
