namespace StreamBets.Users.Auth;

/// <summary>
/// Once an hour, forgets settled login failures (<see cref="LoginThrottle.ForgetSettledAsync"/>) and deletes sessions
/// long ended (<see cref="SessionStore.DeleteEndedAsync"/>). Each job runs whether or not the other failed.
/// </summary>
public sealed partial class AuthCleanup(LoginThrottle throttle, SessionStore sessions, TimeProvider time, ILogger<AuthCleanup> logger) : BackgroundService
{
    private static readonly TimeSpan Every = TimeSpan.FromHours(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Every, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            try
            {
                await throttle.ForgetSettledAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogLoginThrottleCleanupFailed(logger, e);
            }
            try
            {
                if (await sessions.DeleteEndedAsync(time.GetUtcNow(), stoppingToken) is > 0 and var deleted)
                {
                    LogEndedSessionsDeleted(logger, deleted);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogSessionCleanupFailed(logger, e);
            }
        }
    }

    [LoggerMessage(EventId = 1, EventName = "LoginThrottleCleanupFailed", Level = LogLevel.Warning, Message = "Forgetting settled login failures failed; next hour")]
    private static partial void LogLoginThrottleCleanupFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2, EventName = "SessionCleanupFailed", Level = LogLevel.Warning, Message = "Deleting long-ended sessions failed; next hour")]
    private static partial void LogSessionCleanupFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3, EventName = "EndedSessionsDeleted", Level = LogLevel.Information, Message = "Deleted {Count} sessions that ended more than the retention ago, with their refresh tokens")]
    private static partial void LogEndedSessionsDeleted(ILogger logger, int count);
}
