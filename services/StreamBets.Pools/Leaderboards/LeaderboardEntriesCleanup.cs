using Npgsql;

namespace StreamBets.Pools.Leaderboards;

/// <summary>
/// Once an hour, deletes the daily leaderboard rows older than <see cref="KeptFor"/>. Only the current day and ISO week
/// are ever read from them (today and at most the six days before); all-time boards read the totals, which stay.
/// Without this, about 150,000 rows a day piled up for ever under three indexes. A failure is logged and retried next hour.
/// </summary>
public sealed partial class LeaderboardEntriesCleanup(NpgsqlDataSource database, TimeProvider time, ILogger<LeaderboardEntriesCleanup> logger) : BackgroundService
{
    private static readonly TimeSpan Every = TimeSpan.FromHours(1);

    /// <summary>Five weeks: the week read needs seven days; the rest is margin for late events and for looking back.</summary>
    public const int KeptFor = 35;

    /// <summary>Rows per statement: each batch is its own short transaction, so the upserts of settled bets never wait long.</summary>
    private const int BatchSize = 5_000;

    /// <summary>One batch of rows older than $1 ($2 of them), found through <c>leaderboard_entries_by_day</c> and deleted by their row addresses.</summary>
    internal const string DeleteBatchSql = """
        DELETE FROM leaderboard_entries
        WHERE ctid = ANY(ARRAY(SELECT ctid FROM leaderboard_entries WHERE day < $1 LIMIT $2))
        """;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        PeriodicRounds.RunAsync(Every, time, DeleteOldEntriesAsync, e => LogCleanupFailed(logger, e), stoppingToken);

    /// <summary>Deletes every daily row older than <see cref="KeptFor"/> days, in batches.</summary>
    private async Task DeleteOldEntriesAsync(CancellationToken cancellationToken)
    {
        var before = LeaderboardWindow.DayOf(time.GetUtcNow()).AddDays(-KeptFor);
        long deleted = 0;
        int batch;
        do
        {
            await using var command = database.CreateCommand(DeleteBatchSql);
            command.Parameters.AddWithValue(before);
            command.Parameters.AddWithValue(BatchSize);
            batch = await command.ExecuteNonQueryAsync(cancellationToken);
            deleted += batch;
        }
        while (batch == BatchSize);
        if (deleted > 0)
        {
            LogOldEntriesDeleted(logger, deleted);
        }
    }

    [LoggerMessage(EventId = 5005, EventName = "LeaderboardEntriesCleanupFailed", Level = LogLevel.Warning, Message = "Deleting old daily leaderboard rows failed; next hour")]
    private static partial void LogCleanupFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 5006, EventName = "OldLeaderboardEntriesDeleted", Level = LogLevel.Information, Message = "Deleted {Count} daily leaderboard rows older than the days any board reads")]
    private static partial void LogOldEntriesDeleted(ILogger logger, long count);
}
