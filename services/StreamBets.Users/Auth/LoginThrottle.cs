using Microsoft.Extensions.Options;
using Npgsql;
using StreamBets.Users.Data;

namespace StreamBets.Users.Auth;

/// <summary>
/// Stores <see cref="LoginFailures"/> per lower-cased email, whether or not an account has that
/// email, so that a lockout answer never tells an attacker which emails are registered.
/// </summary>
public sealed class LoginThrottle(NpgsqlDataSource db, IOptions<AuthOptions> options, TimeProvider time)
{
    public async Task<DateTimeOffset?> LockedUntilAsync(string email, CancellationToken cancellationToken)
    {
        await using var select = db.CreateCommand("SELECT locked_until FROM login_throttle WHERE email_key = lower($1) AND locked_until > $2")
            .With(email).With(time.GetUtcNow());
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? reader.GetFieldValue<DateTimeOffset>(0) : null;
    }

    /// <summary>Counts a failure under a row lock, so concurrent guesses are all counted; answers the lock's end if it is now locked.</summary>
    public async Task<DateTimeOffset?> RecordFailureAsync(string email, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        // Make sure a row exists to lock, so that two first failures cannot both start from nothing.
        await using (var ensure = new NpgsqlCommand(
            "INSERT INTO login_throttle (email_key, failures, window_started_at) VALUES (lower($1), 0, $2) ON CONFLICT (email_key) DO NOTHING",
            connection, transaction))
        {
            await ensure.With(email).With(now).ExecuteNonQueryAsync(cancellationToken);
        }

        LoginFailures current;
        await using (var select = new NpgsqlCommand(
            "SELECT failures, window_started_at, locked_until FROM login_throttle WHERE email_key = lower($1) FOR UPDATE", connection, transaction))
        {
            await using var reader = await select.With(email).ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            current = new LoginFailures(reader.GetInt32(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetNullable<DateTimeOffset?>(2));
        }

        var next = current.AfterFailure(now, options.Value.Lockout);
        await using (var update = new NpgsqlCommand(
            "UPDATE login_throttle SET failures = $2, window_started_at = $3, locked_until = $4 WHERE email_key = lower($1)", connection, transaction))
        {
            await update.With(email).With(next.Count).With(next.WindowStartedAt).With(next.LockedUntil).ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        return next.IsLocked(now) ? next.LockedUntil : null;
    }

    /// <summary>
    /// Deletes the rows that no longer count: their window is over and they hold no lock, so a next failure would start
    /// afresh anyway (<see cref="LoginFailures.AfterFailure"/>). Without this, every failed sign-in to an email nobody has
    /// would stay for ever, and anyone could grow the table at will.
    /// </summary>
    public async Task<int> ForgetSettledAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var delete = db.CreateCommand(
            "DELETE FROM login_throttle WHERE window_started_at <= $1 AND (locked_until IS NULL OR locked_until <= $2)")
            .With(now - options.Value.Lockout.Window).With(now);
        return await delete.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task ResetAsync(string email, CancellationToken cancellationToken)
    {
        await using var delete = db.CreateCommand("DELETE FROM login_throttle WHERE email_key = lower($1)").With(email);
        await delete.ExecuteNonQueryAsync(cancellationToken);
    }
}

/// <summary>Forgets settled login failures once an hour (<see cref="LoginThrottle.ForgetSettledAsync"/>).</summary>
public sealed partial class LoginThrottleCleanup(LoginThrottle throttle, TimeProvider time, ILogger<LoginThrottleCleanup> logger) : BackgroundService
{
    private static readonly TimeSpan Every = TimeSpan.FromHours(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Every, time, stoppingToken);
                await throttle.ForgetSettledAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogCleanupFailed(logger, e);
            }
        }
    }

    [LoggerMessage(EventId = 1, EventName = "LoginThrottleCleanupFailed", Level = LogLevel.Warning, Message = "Forgetting settled login failures failed; next hour")]
    private static partial void LogCleanupFailed(ILogger logger, Exception exception);
}
