using StreamBets.Pools.Data;

namespace StreamBets.Pools.Leaderboards;

/// <summary>
/// Rebuilds the global boards when Redis may have lost them: at start-up and whenever <see cref="RedisRestartWatch"/>
/// dropped the copies or saw a new server, always after its drop, so the first reader after a Redis restart does not
/// wait for the rebuild. Channel boards are rebuilt on their first read. Failure only logs: reads retry the rebuild.
/// </summary>
public sealed partial class LeaderboardWarmup(Leaderboards leaderboards, RedisRestartWatch watch, ILogger<LeaderboardWarmup> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var _ in watch.CopiesToWarm.ReadAllAsync(stoppingToken))
            {
                await WarmAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task WarmAsync(CancellationToken stoppingToken)
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

    [LoggerMessage(EventId = 5002, EventName = "LeaderboardWarmupFailed", Level = LogLevel.Warning, Message = "Could not rebuild the global leaderboards; they will be rebuilt on first read")]
    private static partial void LogWarmupFailed(ILogger logger, Exception exception);
}
