using Microsoft.Extensions.Options;
using Npgsql;
using StreamBets.Users.Data;
using StreamBets.Users.ResponsibleGambling;

namespace StreamBets.Users.Auth;

/// <summary>A login session, when it ends, and the refresh token that continues it.</summary>
public sealed record SessionGrant(Guid SessionId, DateTimeOffset SessionExpiresAt, string RefreshToken, DateTimeOffset RefreshTokenExpiresAt);

/// <summary>The session a presented refresh token belongs to, locked for the rest of the rotation.</summary>
public sealed record PresentedRefreshToken(byte[] Hash, Guid SessionId, Guid UserId, DateTimeOffset SessionStartedAt, DateTimeOffset SessionExpiresAt,
    DateTimeOffset TokenExpiresAt, DateTimeOffset? UsedAt, bool Superseded, bool SessionRevoked);

/// <summary>
/// Sessions are refresh-token families in PostgreSQL. Every refresh uses up the presented token and
/// issues the next; presenting a used token again, after <see cref="AuthOptions.RefreshTokenReuseInterval"/>, means it
/// leaked, so the whole family is revoked.
/// </summary>
public sealed class SessionStore(NpgsqlDataSource db, IOptions<AuthOptions> options)
{
    public TimeSpan RefreshTokenReuseInterval => options.Value.RefreshTokenReuseInterval;

    /// <summary>
    /// Starts a session in the caller's transaction, which has read the account the session's tokens speak for
    /// (<see cref="Accounts.AccountStore.ShareLockByIdAsync"/>): the session and its first refresh token, in one round trip.
    /// </summary>
    public async Task<SessionGrant> StartAsync(NpgsqlTransaction transaction, Guid userId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var sessionId = Guid.CreateVersion7(now);
        var sessionExpires = now + options.Value.SessionLifetime;
        var (insertToken, grant) = NewRefreshToken(sessionId, sessionExpires, now, issuedFrom: null);
        await using var batch = new NpgsqlBatch(transaction.Connection, transaction)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand("INSERT INTO sessions (id, user_id, started_at, expires_at) VALUES ($1, $2, $3, $4)")
                    .With(sessionId).With(userId).With(now).With(sessionExpires),
                insertToken,
            },
        };
        await batch.ExecuteNonQueryAsync(cancellationToken);
        return grant;
    }

    /// <summary>
    /// Finds the token and locks its session, then the token, so two refreshes of one family never interleave. The
    /// session's lock comes first, in every refresh: a token presented again within the reuse interval goes on to
    /// supersede its successor's row (<see cref="IsCopiedAsync"/>), and had a refresh presenting that successor locked
    /// its own token before waiting for the session, the two would wait for each other (a deadlock, answered 500).
    /// Taken session first, they queue on the session and the second sees what the first did.
    /// </summary>
    public static async Task<PresentedRefreshToken?> FindForRotationAsync(NpgsqlTransaction transaction, string refreshToken, CancellationToken cancellationToken)
    {
        var hash = RefreshTokens.Hash(refreshToken);
        await using var batch = new NpgsqlBatch(transaction.Connection, transaction)
        {
            BatchCommands =
            {
                // Only the session's row is locked here: the subquery reads the token's session id, which never changes.
                new NpgsqlBatchCommand(
                    """
                    SELECT id, user_id, started_at, expires_at, revoked_at IS NOT NULL FROM sessions
                    WHERE id = (SELECT session_id FROM refresh_tokens WHERE token_hash = $1)
                    FOR UPDATE
                    """).With(hash),
                new NpgsqlBatchCommand("SELECT expires_at, used_at, superseded FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE").With(hash),
            },
        };
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }
        var (sessionId, userId, startedAt, sessionExpiresAt, sessionRevoked) = (reader.GetGuid(0), reader.GetGuid(1),
            reader.GetFieldValue<DateTimeOffset>(2), reader.GetFieldValue<DateTimeOffset>(3), reader.GetBoolean(4));
        await reader.NextResultAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }
        return new PresentedRefreshToken(hash, sessionId, userId, startedAt, sessionExpiresAt, reader.GetFieldValue<DateTimeOffset>(0),
            reader.IsDBNull(1) ? null : reader.GetFieldValue<DateTimeOffset>(1), reader.GetBoolean(2), sessionRevoked);
    }

    /// <summary>
    /// The user's session time limit, read in the refresh's own transaction: a refresh holding its connection while it
    /// waited for a second one would let a burst of refreshes (every app after a key rotation) starve the pool.
    /// </summary>
    public static async Task<LimitSetting> SessionTimeLimitAsync(NpgsqlTransaction transaction, Guid userId, CancellationToken cancellationToken) =>
        await new NpgsqlCommand(
            "SELECT value, has_pending, pending_value, pending_effective_at FROM rg_limits WHERE user_id = $1 AND kind = $2", transaction.Connection, transaction)
            .With(userId).With(LimitKind.SessionMinutes.Code())
            .QuerySingleOrDefaultAsync(reader => ResponsibleGamblingStore.ReadLimit(reader, 0), cancellationToken) ?? LimitSetting.None;

    /// <summary>
    /// Whether presenting this token means it was copied: it was superseded by a retry, or used up longer ago than a lost
    /// answer's retry would come, or its successor was used already (whoever got the answer has moved on). Otherwise a
    /// used token presented again is a retry, and its successor, which nobody received, is superseded: the retry's own
    /// successor is then the only one, so of a thief and the owner, whoever presents the other branch later is caught.
    /// </summary>
    public static async Task<bool> IsCopiedAsync(NpgsqlTransaction transaction, PresentedRefreshToken presented, TimeSpan reuseInterval, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (presented.Superseded || presented.UsedAt is { } usedAt && now - usedAt > reuseInterval)
        {
            return true;
        }
        if (presented.UsedAt is null)
        {
            return false;
        }
        // The session row is locked (FindForRotationAsync), so no other refresh of this session runs meanwhile.
        await using (var movedOn = new NpgsqlCommand(
            "SELECT EXISTS (SELECT 1 FROM refresh_tokens WHERE session_id = $2 AND issued_from = $1 AND used_at IS NOT NULL AND NOT superseded)",
            transaction.Connection, transaction))
        {
            if ((bool)(await movedOn.With(presented.Hash).With(presented.SessionId).ExecuteScalarAsync(cancellationToken))!)
            {
                return true;
            }
        }
        await using var supersede = new NpgsqlCommand(
            "UPDATE refresh_tokens SET superseded = true, used_at = $3 WHERE session_id = $2 AND issued_from = $1 AND used_at IS NULL",
            transaction.Connection, transaction);
        await supersede.With(presented.Hash).With(presented.SessionId).With(now).ExecuteNonQueryAsync(cancellationToken);
        return false;
    }

    /// <summary>
    /// Uses up the presented token and issues its successor, never past the session's end. A token presented again
    /// within the reuse interval keeps its first use time, so retries never stretch the interval.
    /// </summary>
    public async Task<SessionGrant> RotateAsync(NpgsqlTransaction transaction, PresentedRefreshToken presented, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var (insertSuccessor, grant) = NewRefreshToken(presented.SessionId, presented.SessionExpiresAt, now, issuedFrom: presented.Hash);
        await using var batch = new NpgsqlBatch(transaction.Connection, transaction)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand("UPDATE refresh_tokens SET used_at = coalesce(used_at, $2) WHERE token_hash = $1").With(presented.Hash).With(now),
                insertSuccessor,
            },
        };
        await batch.ExecuteNonQueryAsync(cancellationToken);
        return grant;
    }

    public static async Task RevokeAsync(NpgsqlTransaction transaction, Guid sessionId, string reason, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var revoke = new NpgsqlCommand(
            "UPDATE sessions SET revoked_at = $2, revoked_reason = $3 WHERE id = $1 AND revoked_at IS NULL", transaction.Connection, transaction);
        await revoke.With(sessionId).With(now).With(reason).ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Revokes every session of the user whose access tokens may still be valid; answers their ids. That includes sessions
    /// ended less than an access token's lifetime ago: a token issued before access tokens stopped at their session's end
    /// may outlive it, and only the revocation list refuses it. In the caller's transaction, which has locked the user's
    /// row (<see cref="Accounts.AccountStore.LockByIdAsync"/>): the sessions end exactly when what ended them commits,
    /// and a sign-in under way, its session not yet committed, is waited for and ended too.
    /// </summary>
    /// <param name="except">A session that stays (the caller's own, when it changed the password); none when null.</param>
    public async Task<IReadOnlyList<Guid>> RevokeAllAsync(
        NpgsqlTransaction transaction, Guid userId, string reason, DateTimeOffset now, CancellationToken cancellationToken, Guid? except = null)
    {
        await using var revoke = new NpgsqlCommand(
            "UPDATE sessions SET revoked_at = $2, revoked_reason = $3 WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $4 AND id <> $5 RETURNING id",
            transaction.Connection, transaction);
        return await SessionIdsAsync(
            revoke.With(userId).With(now).With(reason).With(now - options.Value.AccessTokenLifetime).With(except ?? Guid.Empty), cancellationToken);
    }

    /// <summary>Whether the session is the user's and neither revoked nor past its end, in the caller's transaction.</summary>
    public static async Task<bool> IsLiveAsync(NpgsqlTransaction transaction, Guid userId, Guid sessionId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var select = new NpgsqlCommand(
            "SELECT EXISTS (SELECT 1 FROM sessions WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > $3)", transaction.Connection, transaction);
        return (bool)(await select.With(sessionId).With(userId).With(now).ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>
    /// The user's sessions revoked for this reason (any, when null) whose access tokens may still be valid: what a
    /// repeated request announces again, in case the first one's announcement never left (see <see cref="SessionRevocationList"/>).
    /// </summary>
    public async Task<IReadOnlyList<Guid>> RecentlyRevokedAsync(Guid userId, string? reason, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var select = db.CreateCommand(reason is null
            ? "SELECT id FROM sessions WHERE user_id = $1 AND revoked_at > $2"
            : "SELECT id FROM sessions WHERE user_id = $1 AND revoked_at > $2 AND revoked_reason = $3");
        select.With(userId).With(now - options.Value.AccessTokenLifetime);
        return await SessionIdsAsync(reason is null ? select : select.With(reason), cancellationToken);
    }

    private static async Task<IReadOnlyList<Guid>> SessionIdsAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var ids = new List<Guid>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            ids.Add(reader.GetGuid(0));
        }
        return ids;
    }

    /// <summary>Revokes a session of this user; answers false when the user has no such session.</summary>
    public async Task<bool> RevokeAsync(Guid userId, Guid sessionId, string reason, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var revoke = db.CreateCommand(
            "UPDATE sessions SET revoked_at = coalesce(revoked_at, $3), revoked_reason = coalesce(revoked_reason, $4) WHERE id = $1 AND user_id = $2");
        return await revoke.With(sessionId).With(userId).With(now).With(reason).ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>
    /// Deletes the sessions that ended (revoked or expired) longer than <see cref="AuthOptions.EndedSessionRetention"/>
    /// ago, and their refresh tokens, a batch per statement so a backlog never holds many locks for long; answers how many
    /// sessions went. Nothing needs them by then: a token of an ended session is refused whether its session is there or
    /// not (only as invalid-refresh-token instead of refresh-token-reused), and the revocations repeated for a kill switch
    /// or a demotion reach back one access-token lifetime. Rows a refresh or a logout holds are skipped until the next run.
    /// </summary>
    public async Task<int> DeleteEndedAsync(DateTimeOffset now, CancellationToken cancellationToken, int batchSize = EndedSessionsBatchSize)
    {
        var endedBefore = now - (options.Value.EndedSessionRetention > options.Value.AccessTokenLifetime
            ? options.Value.EndedSessionRetention
            : options.Value.AccessTokenLifetime);
        // The tokens first (they reference their session). A session refreshed every 15 minutes has thousands, so they are
        // batched on their own rather than with their session.
        while (true)
        {
            await using var deleteTokens = db.CreateCommand(
                """
                DELETE FROM refresh_tokens WHERE token_hash IN (
                    SELECT t.token_hash FROM sessions s JOIN refresh_tokens t ON t.session_id = s.id
                    WHERE least(s.expires_at, s.revoked_at) < $1
                    LIMIT $2 FOR UPDATE OF t SKIP LOCKED)
                """).With(endedBefore).With(batchSize);
            if (await deleteTokens.ExecuteNonQueryAsync(cancellationToken) < batchSize)
            {
                break;
            }
        }
        var deleted = 0;
        while (true)
        {
            await using var deleteSessions = db.CreateCommand(
                """
                DELETE FROM sessions WHERE id IN (
                    SELECT s.id FROM sessions s
                    WHERE least(s.expires_at, s.revoked_at) < $1 AND NOT EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.session_id = s.id)
                    LIMIT $2 FOR UPDATE SKIP LOCKED)
                """).With(endedBefore).With(batchSize);
            var batch = await deleteSessions.ExecuteNonQueryAsync(cancellationToken);
            deleted += batch;
            if (batch < batchSize)
            {
                return deleted;
            }
        }
    }

    private const int EndedSessionsBatchSize = 5_000;

    /// <summary>A new refresh token of the session, never valid past its end, and the insert that stores its hash.</summary>
    private (NpgsqlBatchCommand Insert, SessionGrant Grant) NewRefreshToken(Guid sessionId, DateTimeOffset sessionExpires, DateTimeOffset now, byte[]? issuedFrom)
    {
        var (token, hash) = RefreshTokens.Create();
        var expires = Min(now + options.Value.RefreshTokenLifetime, sessionExpires);
        var insert = new NpgsqlBatchCommand("INSERT INTO refresh_tokens (token_hash, session_id, issued_at, expires_at, issued_from) VALUES ($1, $2, $3, $4, $5)")
            .With(hash).With(sessionId).With(now).With(expires).With(issuedFrom);
        return (insert, new SessionGrant(sessionId, sessionExpires, token, expires));
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}
