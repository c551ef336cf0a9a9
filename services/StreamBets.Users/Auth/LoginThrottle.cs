using Microsoft.Extensions.Options;
using Npgsql;
using StreamBets.Users.Data;

namespace StreamBets.Users.Auth;

/// <summary>Where a sign-in comes from: the client's site as the gateway saw it (docs/gateway.md, "The client's site, passed on").</summary>
public static class LoginSource
{
    /// <summary>
    /// Set by the gateway on every request it relays, replacing any copy the client sent, to the client's site: an IPv4
    /// address or an IPv6 /48. Only the gateway reaches this service from outside, so the header can be trusted.
    /// </summary>
    public const string Header = FrontEndVouching.ClientNetworkHeader;

    /// <summary>Sign-ins without the header (a direct call inside the cluster) share this one source per email.</summary>
    public const string Unknown = "unknown";

    /// <summary>The source of the row that counts an email's failures from every source; no header becomes it.</summary>
    internal const string Every = "";

    private const int MaxLength = 100;

    /// <summary>The header's value, or <see cref="Unknown"/> for none, or for one no gateway sends (too long, control characters).</summary>
    public static string From(string? header) =>
        header is { Length: > 0 and <= MaxLength } && !header.Any(char.IsControl) ? header : Unknown;
}

/// <summary>
/// Stores <see cref="LoginFailures"/> per lower-cased email and <see cref="LoginSource"/>, and per email across all
/// sources, whether or not an account has that email, so that a lockout answer never tells an attacker which emails are
/// registered. A source's failures lock that email from that source alone, so a stranger's guesses lock its owner out
/// only from the stranger's site; the email's count across sources, against a far higher ceiling, locks it from everywhere.
/// </summary>
public sealed class LoginThrottle(NpgsqlDataSource db, IOptions<AuthOptions> options, TimeProvider time)
{
    /// <summary>The end of the lock on this email from this source, by its own failures or by the email's from all sources.</summary>
    public async Task<DateTimeOffset?> LockedUntilAsync(string email, string source, CancellationToken cancellationToken)
    {
        await using var select = db.CreateCommand(
            "SELECT max(locked_until) FROM login_failures WHERE email_key = lower($1) AND source IN ($2, $3) AND locked_until > $4")
            .With(email).With(source).With(LoginSource.Every).With(time.GetUtcNow());
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return reader.GetNullable<DateTimeOffset?>(0);
    }

    /// <summary>
    /// Counts a failure for the source and for the email under row locks, so concurrent guesses are all counted; answers
    /// the lock's end if sign-in from this source is now locked.
    /// </summary>
    public async Task<DateTimeOffset?> RecordFailureAsync(string email, string source, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(source); // '' is the email's row (LoginSource.Every)
        var now = time.GetUtcNow();
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        // An upsert creates or locks each row: the row a concurrent delete (ForgetSettledAsync, ResetAsync) removed is made
        // afresh once the delete commits, so a failure is never counted nowhere. The email's row ('') comes first, so
        // failures from two sources at once cannot deadlock. The no-op update takes the lock and returns the row.
        var counted = new List<(string Source, LoginFailures Failures)>(2);
        await using (var lockRows = new NpgsqlCommand(
            """
            INSERT INTO login_failures AS f (email_key, source, failures, window_started_at) VALUES (lower($1), $2, 0, $4), (lower($1), $3, 0, $4)
            ON CONFLICT (email_key, source) DO UPDATE SET failures = f.failures
            RETURNING source, failed_at, locked_until
            """,
            connection, transaction))
        {
            await using var reader = await lockRows.With(email).With(LoginSource.Every).With(source).With(now).ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var current = new LoginFailures(reader.GetFieldValue<DateTimeOffset[]>(1), reader.GetNullable<DateTimeOffset?>(2));
                var policy = reader.GetString(0) == LoginSource.Every ? options.Value.EmailLockout : options.Value.SourceLockout;
                counted.Add((reader.GetString(0), current.AfterFailure(now, policy)));
            }
        }

        // failures and window_started_at (the count and the oldest failure kept) are for replicas of the previous version
        // during a rolling deploy (script 009).
        foreach (var (rowSource, next) in counted)
        {
            await using var update = new NpgsqlCommand(
                "UPDATE login_failures SET failed_at = $3, failures = $4, window_started_at = $5, locked_until = $6 WHERE email_key = lower($1) AND source = $2",
                connection, transaction);
            await update.With(email).With(rowSource).With(next.FailedAt.ToArray()).With(next.Count).With(next.FailedAt[0]).With(next.LockedUntil)
                .ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        return counted.Where(c => c.Failures.IsLocked(now)).Max(c => c.Failures.LockedUntil);
    }

    /// <summary>
    /// Deletes the rows that no longer count: their last failure is older than the window and they hold no lock, so a next
    /// failure would count alone anyway (<see cref="LoginFailures.AfterFailure"/>). Without this, every failed sign-in to an
    /// email nobody has would stay for ever, and anyone could grow the table at will. Rows a failure is counting are skipped, not waited
    /// for (the next run takes them): a delete that waited, holding the rows it took in the table's order, could deadlock
    /// with a failure holding its email's row and waiting for its source's.
    /// </summary>
    public async Task<int> ForgetSettledAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var delete = db.CreateCommand(
            """
            DELETE FROM login_failures WHERE (email_key, source) IN (
                SELECT email_key, source FROM login_failures
                WHERE coalesce(failed_at[cardinality(failed_at)], window_started_at) <= $1 AND (locked_until IS NULL OR locked_until <= $2)
                FOR UPDATE SKIP LOCKED)
            """)
            .With(now - options.Value.FailedLoginWindow).With(now);
        return await delete.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Clears the source's failures after a sign-in from it. The email's count across sources stays until its window ends:
    /// cleared by each of the owner's sign-ins, it would let guesses spread over many networks go on for ever.
    /// </summary>
    public async Task ResetAsync(string email, string source, CancellationToken cancellationToken)
    {
        await using var delete = db.CreateCommand("DELETE FROM login_failures WHERE email_key = lower($1) AND source = $2").With(email).With(source);
        await delete.ExecuteNonQueryAsync(cancellationToken);
    }
}
