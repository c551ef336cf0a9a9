namespace StreamBets.Pools.Leaderboards;

/// <summary>
/// Rebuilds the global boards at start-up when Redis has lost them, so the first reader after a Redis restart does not
/// wait for the rebuild. Channel boards are rebuilt on their first read. Failure only logs: reads retry the rebuild.
/// </summary>
public sealed partial class LeaderboardWarmup(Leaderboards leaderboards, ILogger<LeaderboardWarmup> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            foreach (var period in Enum.GetValues<LeaderboardPeriod>())
            {
                // Null while settled bets held the leaderboards lock past the build's lock timeout, or a reader's build ran: keep trying.
                while (await leaderboards.TopAsync(LeaderboardScope.Global, period, 1, reader: null, stoppingToken) is null)
                {
                }
            }
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested)
        {
            LogWarmupFailed(logger, e);
        }
    }

    [LoggerMessage(EventId = 5002, EventName = "LeaderboardWarmupFailed", Level = LogLevel.Warning, Message = "Could not rebuild the global leaderboards at start-up; they will be rebuilt on first read")]
    private static partial void LogWarmupFailed(ILogger logger, Exception exception);
}
