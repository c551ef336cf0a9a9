namespace StreamBets.Users.Auth;

/// <summary>
/// Once an hour, forgets settled login failures (<see cref="LoginThrottle.ForgetSettledAsync"/>) and deletes sessions
/// long ended (<see cref="SessionStore.DeleteEndedAsync"/>). Each job runs in its own rounds, whether or not the other failed.
/// </summary>
public sealed partial class AuthCleanup(LoginThrottle throttle, SessionStore sessions, TimeProvider time, ILogger<AuthCleanup> logger) : BackgroundService
{
    private static readonly TimeSpan Every = TimeSpan.FromHours(1);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.WhenAll(
        PeriodicRounds.RunAsync(Every, time, throttle.ForgetSettledAsync, e => LogLoginThrottleCleanupFailed(logger, e), stoppingToken),
        PeriodicRounds.RunAsync(Every, time, DeleteEndedSessionsAsync, e => LogSessionCleanupFailed(logger, e), stoppingToken));

    private async Task DeleteEndedSessionsAsync(CancellationToken cancellationToken)
    {
        if (await sessions.DeleteEndedAsync(time.GetUtcNow(), cancellationToken) is > 0 and var deleted)
        {
            LogEndedSessionsDeleted(logger, deleted);
        }
    }

    [LoggerMessage(EventId = 1, EventName = "LoginThrottleCleanupFailed", Level = LogLevel.Warning, Message = "Forgetting settled login failures failed; next hour")]
    private static partial void LogLoginThrottleCleanupFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2, EventName = "SessionCleanupFailed", Level = LogLevel.Warning, Message = "Deleting long-ended sessions failed; next hour")]
    private static partial void LogSessionCleanupFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3, EventName = "EndedSessionsDeleted", Level = LogLevel.Information, Message = "Deleted {Count} sessions that ended more than the retention ago, with their refresh tokens")]
    private static partial void LogEndedSessionsDeleted(ILogger logger, int count);
}
