using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using Npgsql;
using StreamBets.Users.Accounts;

namespace StreamBets.Users.Auth;

public sealed record LoginRequest(string? Email, string? Password);

public sealed record RefreshRequest(string? RefreshToken);

public sealed record PasswordChangeRequest(string? CurrentPassword, string? NewPassword);

/// <summary>What a password change answers: how many other sessions of the user it ended.</summary>
public sealed record PasswordChanged(int EndedSessions);

/// <summary>What login and refresh answer: a bearer access token and the refresh token that replaces it.</summary>
public sealed record TokenResponse(
    string AccessToken, string TokenType, int ExpiresIn, DateTimeOffset ExpiresAt, string RefreshToken, DateTimeOffset RefreshTokenExpiresAt, Guid UserId, string Role);

/// <summary>Sign-in, token refresh, sign-out and a player's password change.</summary>
public sealed partial class Authenticator(
    NpgsqlDataSource db,
    AccountStore accounts,
    SessionStore sessions,
    LoginThrottle throttle,
    AccessTokenIssuer accessTokens,
    SessionRevocationList revocations,
    IPasswordHasher<UserAccount> hasher,
    TimeProvider time,
    ILogger<Authenticator> logger)
{
    private static readonly UserAccount NobodyAccount = new(Guid.Empty, "", "", "", default, "", null, "", 0, null, false, default);

    /// <summary>Verified against when the email is unknown, so both failures cost the same time.</summary>
    private readonly Lazy<string> _nobodyHash = new(() => hasher.HashPassword(NobodyAccount, Guid.NewGuid().ToString()));

    /// <param name="source">Where the sign-in comes from (<see cref="LoginSource"/>): failures lock the email from there.</param>
    public async Task<Outcome<TokenResponse>> LoginAsync(LoginRequest request, string source, CancellationToken cancellationToken)
    {
        var errors = new FieldErrors();
        if (string.IsNullOrWhiteSpace(request.Email))
        {
            errors.Add("email", "Enter your email address.");
        }
        if (string.IsNullOrEmpty(request.Password))
        {
            errors.Add("password", "Enter your password.");
        }
        if (errors.Any)
        {
            return Outcome<TokenResponse>.Invalid(errors.ToDictionary());
        }

        // Throttled under the one spelling accounts are stored by: each spelling of a mailbox (punycode, NFD) must not
        // bring its own count of guesses.
        var typed = request.Email!.Trim();
        if (!AccountRules.TryNormalizeEmail(typed, out var email))
        {
            // Refused by today's rules, yet it may be an account registered before them (a domain IDNA refuses): looked up
            // as typed, unless PostgreSQL could not even key a throttle row by it (a NUL, longer than an index entry).
            if (typed.Length > 254 || typed.Any(char.IsControl))
            {
                return Problems.InvalidCredentials();
            }
            email = typed;
        }
        if (await throttle.LockedUntilAsync(email, source, cancellationToken) is { } lockedUntil)
        {
            return Problems.AccountLocked(lockedUntil);
        }

        // As typed: of two accounts registered before the rule under two spellings of one mailbox, the one typed is meant.
        var account = await accounts.FindByEmailAsync(typed, cancellationToken);
        var verification = account is null
            ? VerifyAgainstNobody(request.Password!)
            : hasher.VerifyHashedPassword(account, account.PasswordHash, request.Password!);
        if (account is null || verification == PasswordVerificationResult.Failed)
        {
            LogLoginFailed(logger, account?.Id);
            return await throttle.RecordFailureAsync(email, source, cancellationToken) is { } lockedNow
                ? Problems.AccountLocked(lockedNow)
                : Problems.InvalidCredentials();
        }

        var now = time.GetUtcNow();
        var verifiedHash = account.PasswordHash;
        if (verification == PasswordVerificationResult.SuccessRehashNeeded)
        {
            var rehash = hasher.HashPassword(account, request.Password!);
            if (await accounts.RehashPasswordAsync(account.Id, verifiedHash, rehash, now, cancellationToken))
            {
                verifiedHash = rehash;
            }
            else if (await accounts.FindByIdAsync(account.Id, cancellationToken) is { } reread
                && hasher.VerifyHashedPassword(reread, reread.PasswordHash, request.Password!) != PasswordVerificationResult.Failed)
            {
                verifiedHash = reread.PasswordHash; // another sign-in rehashed the same password first
            }
            else
            {
                return Problems.InvalidCredentials(); // the password was changed while this sign-in checked the old one
            }
        }
        // Guesses sent side by side all passed the lock check before the slow hash; if they locked the email from this
        // source (or from all) meanwhile, a right one among them must not sign in (nor lift the lock).
        if (await throttle.LockedUntilAsync(email, source, cancellationToken) is { } lockedMeanwhile)
        {
            return Problems.AccountLocked(lockedMeanwhile);
        }
        await throttle.ResetAsync(email, source, cancellationToken);

        // The token's role is read where its session starts, the account's row share-locked: a demotion under way (it
        // holds the row, Profiles.ChangeRoleAsync) is waited for and its role read; one that comes later waits for this
        // session to commit and then ends it with the others. Read before the slow hash instead, the role could be one a
        // demotion removed while the session, not yet committed, escaped its revocation.
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // The password checked must still be the account's: a change under way (ChangePasswordAsync holds the row) is waited
        // for here, and one that committed while this sign-in checked the old password leaves it no session, so the old
        // password signs in no more, not even in a thief's sign-in already under way.
        if (await AccountStore.ShareLockByIdAsync(transaction, account.Id, cancellationToken) is not { } signedIn
            || signedIn.PasswordHash != verifiedHash)
        {
            return Problems.InvalidCredentials();
        }
        var grant = await sessions.StartAsync(transaction, signedIn.Id, now, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        LogLoggedIn(logger, signedIn.Id, grant.SessionId);
        return Tokens(signedIn, grant);
    }

    public async Task<Outcome<TokenResponse>> RefreshAsync(RefreshRequest request, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(request.RefreshToken))
        {
            return Outcome<TokenResponse>.Invalid(new Dictionary<string, string[]> { ["refreshToken"] = ["The refresh token is required."] });
        }

        var now = time.GetUtcNow();
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var presented = await SessionStore.FindForRotationAsync(transaction, request.RefreshToken, cancellationToken);
        if (presented is null || presented.SessionRevoked)
        {
            return Problems.InvalidRefreshToken();
        }

        if (await SessionStore.IsCopiedAsync(transaction, presented, sessions.RefreshTokenReuseInterval, now, cancellationToken))
        {
            // Only the client that received a token should ever present it, and only once (or again within seconds, when
            // the answer to its refresh was lost): a later presentation means it was copied. End the session for the
            // thief and the owner alike.
            await EndSessionAsync(transaction, presented.SessionId, "refresh-token-reused", now, cancellationToken);
            LogRefreshTokenReused(logger, presented.UserId, presented.SessionId);
            return Problems.RefreshTokenReused();
        }

        if (presented.TokenExpiresAt <= now || presented.SessionExpiresAt <= now)
        {
            return Problems.InvalidRefreshToken();
        }

        // Everything below reads on this refresh's connection: see SessionStore.SessionTimeLimitAsync.
        var sessionLimit = await SessionStore.SessionTimeLimitAsync(transaction, presented.UserId, cancellationToken);
        if (sessionLimit.EffectiveValue(now) is { } minutes && now - presented.SessionStartedAt >= TimeSpan.FromMinutes(minutes))
        {
            await EndSessionAsync(transaction, presented.SessionId, "session-limit-reached", now, cancellationToken);
            return Problems.SessionLimitReached((int)minutes);
        }

        // Role and display name are read afresh, so a granted role reaches the token at the next refresh. No lock on the
        // account is needed against a demotion: it revokes this session in its transaction, and this refresh holds the
        // session's row (FindForRotationAsync), so a demotion that committed first left the session revoked (refused
        // above) and one still running commits after this refresh and revokes the rotated session. Locking the account
        // here, after the session, would deadlock with a demotion holding the account and waiting for the session.
        var account = await AccountStore.FindByIdAsync(transaction, presented.UserId, cancellationToken);
        if (account is null)
        {
            return Problems.InvalidRefreshToken();
        }
        var grant = await sessions.RotateAsync(transaction, presented, now, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return Tokens(account, grant);
    }

    /// <summary>
    /// Ends every session of the user at once (an admin's kill switch): their refresh tokens stop working and their access
    /// tokens are refused everywhere, instead of for up to the access token's 15 minutes.
    /// </summary>
    /// <remarks>
    /// The sessions are revoked with the user's row locked, as a demotion does (Profiles.ChangeRoleAsync): a sign-in
    /// share-locks the row where its session starts (LoginAsync), so one under way is waited for and its session ended
    /// with the others, and one that comes later starts after the revocation. Revoked without the lock, a sign-in whose
    /// session was not yet committed escaped it and kept a working session after "every session" ended. A user that
    /// does not exist has no sessions: none end.
    /// A sign-in still checking the password (the slow hash, before its session starts) is not waited for: it signs in
    /// afterwards. Against a stolen password, the player changes it (<see cref="ChangePasswordAsync"/>).
    /// After the commit it announces every session it ended for this reason within an access token's lifetime, not only
    /// those it ended now: when a first request's announcement never left (Redis down: <see cref="SessionRevocationList"/>
    /// logs and carries on), its repeat finds nothing left to revoke, and must still refuse those tokens everywhere.
    /// Answers how many sessions it ended now.
    /// </remarks>
    public async Task<int> EndAllSessionsAsync(Guid userId, Guid adminId, string reason, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var exists = false;
        IReadOnlyList<Guid> ended = [];
        await using (var connection = await db.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            if (await AccountStore.LockByIdAsync(transaction, userId, cancellationToken) is not null)
            {
                exists = true;
                ended = await sessions.RevokeAllAsync(transaction, userId, reason, now, cancellationToken);
            }
            // Not cancellationToken from here on: what commits is announced, whether or not the admin waits for the answer.
            await transaction.CommitAsync(CancellationToken.None);
        }
        // Those ended now first: they are refused even if reading the earlier ones fails.
        await RefuseTokensAsync(ended);
        if (exists)
        {
            // Whatever ended them (this kill switch, a password change, a demotion): each announces once, and this is
            // the request an admin repeats when tokens still work.
            await RefuseTokensAsync([.. (await sessions.RecentlyRevokedAsync(userId, reason: null, now, CancellationToken.None)).Except(ended)]);
        }
        LogSessionsEnded(logger, adminId, ended.Count, userId, reason);
        return ended.Count;
    }

    /// <summary>
    /// Changes the caller's password and ends every other session of the user (a stolen password: the thief's sessions
    /// end, and the old password signs in no more); the caller's own session stays.
    /// </summary>
    /// <remarks>
    /// The current password is judged as a sign-in is, under the same lockout (<see cref="LoginThrottle"/>, by the account's
    /// email and <paramref name="source"/>): a wrong one counts as a failed sign-in, so a stolen access token cannot guess
    /// the password here faster than at the sign-in form; a right one clears the source's failures. The hashes are
    /// computed holding no database connection. The new hash and the revocation of the other sessions commit in one
    /// transaction with the user's row locked (FOR NO KEY UPDATE, as the admin's kill switch does), so a sign-in with the
    /// old password under way either started its session before (ended with the others) or is refused (LoginAsync reads
    /// the hash again under its share lock). Of two changes at once from two sessions, the first to lock the row ends the
    /// other's session, which is then refused (401 session-ended).
    /// </remarks>
    public async Task<Outcome<PasswordChanged>> ChangePasswordAsync(
        Guid userId, Guid? sessionId, PasswordChangeRequest request, string source, CancellationToken cancellationToken)
    {
        var errors = new FieldErrors();
        if (string.IsNullOrEmpty(request.CurrentPassword))
        {
            errors.Add("currentPassword", "Enter your current password.");
        }
        if (string.IsNullOrEmpty(request.NewPassword))
        {
            errors.Add("newPassword", "Enter a new password.");
        }
        if (errors.Any)
        {
            return Outcome<PasswordChanged>.Invalid(errors.ToDictionary());
        }
        if (sessionId is not { } callerSession || await accounts.FindByIdAsync(userId, cancellationToken) is not { } account)
        {
            return Problems.SessionEnded();
        }
        if (AccountRules.PasswordProblem(request.NewPassword, account.Email) is { } passwordProblem)
        {
            errors.Add("newPassword", passwordProblem);
        }
        else if (request.NewPassword == request.CurrentPassword)
        {
            errors.Add("newPassword", "The new password must differ from the current one.");
        }
        if (errors.Any)
        {
            return Outcome<PasswordChanged>.Invalid(errors.ToDictionary());
        }

        if (await throttle.LockedUntilAsync(account.Email, source, cancellationToken) is { } lockedUntil)
        {
            return Problems.AccountLocked(lockedUntil);
        }
        if (hasher.VerifyHashedPassword(account, account.PasswordHash, request.CurrentPassword!) == PasswordVerificationResult.Failed)
        {
            LogPasswordChangeRefused(logger, userId);
            return await throttle.RecordFailureAsync(account.Email, source, cancellationToken) is { } lockedNow
                ? Problems.AccountLocked(lockedNow)
                : Problems.WrongPassword();
        }
        // As at sign-in: guesses sent beside this one may have locked the email meanwhile. Checked before the new hash:
        // after it, a right guess among a locked burst would answer one hash later than the wrong ones, and its timing
        // would tell the guesser which one was right.
        if (await throttle.LockedUntilAsync(account.Email, source, cancellationToken) is { } lockedMeanwhile)
        {
            return Problems.AccountLocked(lockedMeanwhile);
        }
        var newHash = hasher.HashPassword(account, request.NewPassword!);
        await throttle.ResetAsync(account.Email, source, cancellationToken);

        var now = time.GetUtcNow();
        IReadOnlyList<Guid> ended;
        await using (var connection = await db.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            if (await AccountStore.LockByIdAsync(transaction, userId, cancellationToken) is not { } locked
                || !await SessionStore.IsLiveAsync(transaction, userId, callerSession, now, cancellationToken))
            {
                return Problems.SessionEnded();
            }
            if (locked.PasswordHash != account.PasswordHash)
            {
                // Changed by another request of this session after this one checked the password: it is not current any more.
                return Problems.WrongPassword();
            }
            await AccountStore.SetPasswordHashAsync(transaction, userId, newHash, now, cancellationToken);
            ended = await sessions.RevokeAllAsync(transaction, userId, PasswordChangedReason, now, cancellationToken, except: callerSession);
            // Not cancellationToken from here on: what commits is announced, whether or not the player waits for the answer.
            await transaction.CommitAsync(CancellationToken.None);
        }
        LogPasswordChanged(logger, userId, ended.Count);
        await RefuseTokensAsync(ended);
        return new PasswordChanged(ended.Count);
    }

    private const string PasswordChangedReason = "password-changed";

    /// <summary>
    /// Refuses the access tokens of sessions already revoked in PostgreSQL everywhere (the revocation list). Called after
    /// the revocation committed, so it takes no caller's token: a client that leaves then must not leave the tokens valid.
    /// </summary>
    public async Task AnnounceSessionsEndedAsync(Guid userId, Guid adminId, string reason, IReadOnlyList<Guid> ended)
    {
        await RefuseTokensAsync(ended);
        LogSessionsEnded(logger, adminId, ended.Count, userId, reason);
    }

    private async Task RefuseTokensAsync(IReadOnlyList<Guid> revokedSessions)
    {
        foreach (var sessionId in revokedSessions)
        {
            await revocations.RevokeAsync(sessionId);
        }
    }

    /// <summary>Ends the caller's session: its refresh token stops working and its access tokens are revoked everywhere.</summary>
    public async Task LogoutAsync(Guid userId, Guid sessionId, CancellationToken cancellationToken)
    {
        if (await sessions.RevokeAsync(userId, sessionId, "logout", time.GetUtcNow(), cancellationToken))
        {
            await revocations.RevokeAsync(sessionId);
        }
    }

    private async Task EndSessionAsync(NpgsqlTransaction transaction, Guid sessionId, string reason, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await SessionStore.RevokeAsync(transaction, sessionId, reason, now, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        await revocations.RevokeAsync(sessionId);
    }

    private PasswordVerificationResult VerifyAgainstNobody(string password)
    {
        hasher.VerifyHashedPassword(NobodyAccount, _nobodyHash.Value, password);
        return PasswordVerificationResult.Failed;
    }

    private TokenResponse Tokens(UserAccount account, SessionGrant grant)
    {
        var access = accessTokens.Issue(account, grant.SessionId, grant.SessionExpiresAt);
        var expiresIn = (int)Math.Round((access.ExpiresAt - time.GetUtcNow()).TotalSeconds);
        return new TokenResponse(access.Token, "Bearer", expiresIn, access.ExpiresAt, grant.RefreshToken, grant.RefreshTokenExpiresAt, account.Id, account.Role);
    }

    [LoggerMessage(EventId = 101, EventName = "LoginFailed", Level = LogLevel.Information, Message = "Failed sign-in (user {UserId})")]
    private static partial void LogLoginFailed(ILogger logger, Guid? userId);

    [LoggerMessage(EventId = 102, EventName = "LoggedIn", Level = LogLevel.Information, Message = "User {UserId} signed in, session {SessionId}")]
    private static partial void LogLoggedIn(ILogger logger, Guid userId, Guid sessionId);

    [LoggerMessage(EventId = 104, EventName = "SessionsEnded", Level = LogLevel.Information,
        Message = "Admin {AdminId} ended {Count} session(s) of user {UserId} ({Reason})")]
    private static partial void LogSessionsEnded(ILogger logger, Guid adminId, int count, Guid userId, string reason);

    [LoggerMessage(EventId = 105, EventName = "PasswordChanged", Level = LogLevel.Information,
        Message = "User {UserId} changed their password; {EndedCount} other session(s) ended")]
    private static partial void LogPasswordChanged(ILogger logger, Guid userId, int endedCount);

    [LoggerMessage(EventId = 106, EventName = "PasswordChangeRefused", Level = LogLevel.Information,
        Message = "User {UserId} gave a wrong current password to change it")]
    private static partial void LogPasswordChangeRefused(ILogger logger, Guid userId);

    [LoggerMessage(EventId = 103, EventName = "RefreshTokenReused", Level = LogLevel.Warning,
        Message = "A used refresh token of user {UserId} was presented again; session {SessionId} revoked")]
    private static partial void LogRefreshTokenReused(ILogger logger, Guid userId, Guid sessionId);
}
