using Npgsql;
using StreamBets.Users.Data;

namespace StreamBets.Users.Accounts;

/// <summary>Reads and writes the users table.</summary>
public sealed class AccountStore(NpgsqlDataSource db)
{
    private const string Columns =
        "id, email, password_hash, display_name, date_of_birth, country, document_type, document_number, role, kyc_tier, avatar_url, marketing_opt_in, created_at";

    public Task<UserAccount?> FindByIdAsync(Guid id, CancellationToken cancellationToken) =>
        SingleAsync(db.CreateCommand($"SELECT {Columns} FROM users WHERE id = $1").With(id), cancellationToken);

    /// <summary>The same in the caller's transaction, for a caller that already holds a pooled connection.</summary>
    public static Task<UserAccount?> FindByIdAsync(NpgsqlTransaction transaction, Guid id, CancellationToken cancellationToken) =>
        SingleAsync(new NpgsqlCommand($"SELECT {Columns} FROM users WHERE id = $1", transaction.Connection, transaction).With(id), cancellationToken);

    /// <summary>
    /// Under any spelling of the address (<see cref="AccountRules.TryNormalizeEmail"/>), case-insensitive through the same
    /// lower() as the unique index. The punycode spelling finds an account stored that way before domains were stored in
    /// Unicode; should both exist (registered before the rule), the one spelled as typed is the one meant.
    /// </summary>
    public Task<UserAccount?> FindByEmailAsync(string email, CancellationToken cancellationToken)
    {
        // An admin's search for a row stored before the rule, which it no longer passes, still looks it up as typed.
        var (stored, punycode) = AccountRules.TryNormalizeEmail(email, out var normalized)
            ? (normalized, AccountRules.WithAsciiDomain(normalized))
            : (email, email);
        return SingleAsync(db.CreateCommand(
                $"SELECT {Columns} FROM users WHERE lower(email) IN (lower($1), lower($2)) ORDER BY lower(email) = lower($3) DESC, created_at LIMIT 1")
            .With(stored).With(punycode).With(email.Trim()), cancellationToken);
    }

    /// <summary>Inserts in the caller's transaction; a duplicate email or document raises a unique violation.</summary>
    public static async Task InsertAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, UserAccount account, CancellationToken cancellationToken)
    {
        await using var insert = new NpgsqlCommand(
            $"INSERT INTO users ({Columns}, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)",
            connection, transaction);
        insert.With(account.Id).With(account.Email).With(account.PasswordHash).With(account.DisplayName).With(account.DateOfBirth)
            .With(account.Country).With(account.Document?.Type).With(account.Document?.Number).With(account.Role)
            .With((short)account.KycTier).With(account.AvatarUrl).With(account.MarketingOptIn).With(account.CreatedAt);
        await insert.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Replaces the hash a sign-in verified with a rehash of the same password (a format upgrade); answers false, writing
    /// nothing, when the stored hash is no longer <paramref name="verifiedHash"/> (the password was changed meanwhile, and
    /// an unconditional write would bring the old password back).
    /// </summary>
    public async Task<bool> RehashPasswordAsync(Guid id, string verifiedHash, string passwordHash, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var update = db.CreateCommand("UPDATE users SET password_hash = $3, updated_at = $4 WHERE id = $1 AND password_hash = $2")
            .With(id).With(verifiedHash).With(passwordHash).With(now);
        return await update.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>Stores a new password's hash in the caller's transaction, which has locked the row (<see cref="LockByIdAsync"/>).</summary>
    public static async Task SetPasswordHashAsync(NpgsqlTransaction transaction, Guid id, string passwordHash, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var update = new NpgsqlCommand("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1", transaction.Connection, transaction)
            .With(id).With(passwordHash).With(now);
        await update.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Updates in the caller's transaction; answers the account as it is afterwards, or null when it does not exist.</summary>
    public static Task<UserAccount?> UpdateProfileAsync(
        NpgsqlTransaction transaction, Guid id, string displayName, string? avatarUrl, bool marketingOptIn, DateTimeOffset now, CancellationToken cancellationToken) =>
        SingleAsync(new NpgsqlCommand(
            $"UPDATE users SET display_name = $2, avatar_url = $3, marketing_opt_in = $4, updated_at = $5 WHERE id = $1 RETURNING {Columns}",
            transaction.Connection, transaction)
            .With(id).With(displayName).With(avatarUrl).With(marketingOptIn).With(now), cancellationToken);

    /// <summary>
    /// The account, its row locked against other changes for the rest of the caller's transaction; null when it does not
    /// exist. FOR NO KEY UPDATE, not FOR UPDATE: inserts that reference the user (a sign-in's session, a deposit, a KYC
    /// check) take FOR KEY SHARE on the row to check their foreign key, and would all wait for the transaction.
    /// </summary>
    public static Task<UserAccount?> LockByIdAsync(NpgsqlTransaction transaction, Guid id, CancellationToken cancellationToken) =>
        SingleAsync(new NpgsqlCommand($"SELECT {Columns} FROM users WHERE id = $1 FOR NO KEY UPDATE", transaction.Connection, transaction).With(id), cancellationToken);

    /// <summary>
    /// The account as a session starting in the caller's transaction sees it, its row share-locked until that
    /// transaction ends; null when it does not exist. FOR SHARE conflicts with <see cref="LockByIdAsync"/> (FOR KEY SHARE
    /// would not): a role change under way is waited for and its role read, and a role change that comes later waits
    /// for the session to commit and then sees it. Sign-ins of one user share the lock.
    /// </summary>
    public static Task<UserAccount?> ShareLockByIdAsync(NpgsqlTransaction transaction, Guid id, CancellationToken cancellationToken) =>
        SingleAsync(new NpgsqlCommand($"SELECT {Columns} FROM users WHERE id = $1 FOR SHARE", transaction.Connection, transaction).With(id), cancellationToken);

    /// <summary>Changes the role in the caller's transaction; answers the account as it is afterwards, or null when it does not exist.</summary>
    public static Task<UserAccount?> SetRoleAsync(NpgsqlTransaction transaction, Guid id, string role, DateTimeOffset now, CancellationToken cancellationToken) =>
        SingleAsync(new NpgsqlCommand($"UPDATE users SET role = $2, updated_at = $3 WHERE id = $1 RETURNING {Columns}", transaction.Connection, transaction)
            .With(id).With(role).With(now), cancellationToken);

    public async Task<IReadOnlyList<LinkedChannel>> LinkedChannelsAsync(Guid userId, CancellationToken cancellationToken)
    {
        await using var select = db.CreateCommand(
            "SELECT platform, channel_id, channel_name, linked_at FROM linked_channels WHERE user_id = $1 ORDER BY linked_at").With(userId);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        var channels = new List<LinkedChannel>();
        while (await reader.ReadAsync(cancellationToken))
        {
            channels.Add(new LinkedChannel(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(3)));
        }
        return channels;
    }

    private static Task<UserAccount?> SingleAsync(NpgsqlCommand command, CancellationToken cancellationToken) =>
        command.QuerySingleOrDefaultAsync(Read, cancellationToken);

    private static UserAccount Read(NpgsqlDataReader reader) => new(
        Id: reader.GetGuid(0),
        Email: reader.GetString(1),
        PasswordHash: reader.GetString(2),
        DisplayName: reader.GetString(3),
        DateOfBirth: reader.GetFieldValue<DateOnly>(4),
        Country: reader.GetString(5),
        Document: reader.IsDBNull(6) ? null : new IdentityDocument(reader.GetString(6), reader.GetString(7)),
        Role: reader.GetString(8),
        KycTier: reader.GetInt16(9),
        AvatarUrl: reader.GetNullable<string>(10),
        MarketingOptIn: reader.GetBoolean(11),
        CreatedAt: reader.GetFieldValue<DateTimeOffset>(12));
}
