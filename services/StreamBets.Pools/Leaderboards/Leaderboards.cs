using Npgsql;
using NpgsqlTypes;
using StackExchange.Redis;
using StreamBets.Pools.Data;
using StreamBets.Pools.Management;

namespace StreamBets.Pools.Leaderboards;

public sealed record LeaderboardEntry(int Rank, Guid UserId, long NetMinor);

public sealed record LeaderboardPage(LeaderboardScope Scope, LeaderboardWindow Window, IReadOnlyList<LeaderboardEntry> Entries);

/// <summary>
/// Net winnings boards in Redis sorted sets (one per scope and period, e.g. "pools:leaderboard:global:week:2026-W11"),
/// backed by <c>leaderboard_entries</c> in PostgreSQL (per channel, day and player).
/// Each settled bet updates PostgreSQL in the handler's inbox transaction, then sets the player's six scores
/// (global and channel, day, week and all time) to the sums PostgreSQL now holds: absolute values, so a redelivered
/// event or a retried batch can never count twice, as ZINCRBY would. A board whose "built" marker is missing
/// (Redis restarted or was flushed) is rebuilt from PostgreSQL before it is read.
/// </summary>
public sealed partial class Leaderboards(IConnectionMultiplexer redis, NpgsqlDataSource database, TimeProvider time, ILogger<Leaderboards> logger)
{
    public const int MaxLimit = 100;

    public static RedisKey Key(LeaderboardScope scope, LeaderboardWindow window) => $"pools:leaderboard:{scope}:{window.Period.ToString().ToLowerInvariant()}:{window.Key}";

    private static RedisKey BuiltKey(LeaderboardScope scope, LeaderboardWindow window) => $"{Key(scope, window)}:built";

    /// <summary>Adds one settled bet's net result (payout - stake) for the player, in the handler's transaction.</summary>
    public async Task RecordAsync(NpgsqlTransaction transaction, Channel channel, Guid userId, long netMinor, DateTimeOffset settledAt, CancellationToken cancellationToken)
    {
        var day = LeaderboardWindow.DayOf(settledAt);
        var week = LeaderboardWindow.For(LeaderboardPeriod.Week, day);
        await using var batch = new NpgsqlBatch(transaction.Connection, transaction)
        {
            BatchCommands =
            {
                ReadModelLocks.Shared(ReadModelLocks.Leaderboards),
                new NpgsqlBatchCommand("""
                    INSERT INTO leaderboard_entries (channel, day, user_id, net_minor) VALUES ($1, $2, $3, $4)
                    ON CONFLICT (channel, day, user_id) DO UPDATE SET net_minor = leaderboard_entries.net_minor + EXCLUDED.net_minor
                    """) { Parameters = { new() { Value = channel.ToString() }, new() { Value = day }, new() { Value = userId }, new() { Value = netMinor } } },
                new NpgsqlBatchCommand("""
                    SELECT coalesce(sum(net_minor) FILTER (WHERE day = $2), 0),
                           coalesce(sum(net_minor) FILTER (WHERE day BETWEEN $3 AND $4), 0),
                           coalesce(sum(net_minor), 0),
                           coalesce(sum(net_minor) FILTER (WHERE channel = $5 AND day = $2), 0),
                           coalesce(sum(net_minor) FILTER (WHERE channel = $5 AND day BETWEEN $3 AND $4), 0),
                           coalesce(sum(net_minor) FILTER (WHERE channel = $5), 0)
                    FROM leaderboard_entries WHERE user_id = $1
                    """) { Parameters = { new() { Value = userId }, new() { Value = day }, new() { Value = week.From!.Value }, new() { Value = week.To!.Value }, new() { Value = channel.ToString() } } },
            },
        };
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        await reader.NextResultAsync(cancellationToken); // past the lock's row; the upsert returns no result set
        await reader.ReadAsync(cancellationToken);
        var sums = Enumerable.Range(0, 6).Select(reader.GetInt64).ToArray();

        var channelScope = new LeaderboardScope(channel);
        var member = (RedisValue)userId.ToString();
        var writes = redis.GetDatabase().CreateBatch();
        var pending = new List<Task>();
        var i = 0;
        foreach (var scope in new[] { LeaderboardScope.Global, channelScope })
        {
            foreach (var period in new[] { LeaderboardPeriod.Day, LeaderboardPeriod.Week, LeaderboardPeriod.All })
            {
                var window = LeaderboardWindow.For(period, day);
                pending.Add(writes.SortedSetAddAsync(Key(scope, window), member, sums[i++]));
                if (window.ExpiresAt is { } expiresAt)
                {
                    pending.Add(writes.KeyExpireAsync(Key(scope, window), expiresAt.UtcDateTime));
                }
            }
        }

        writes.Execute();
        await Task.WhenAll(pending);
    }

    /// <summary>The current board of the scope and period (today's day or week in UTC), best first.</summary>
    public async Task<LeaderboardPage> TopAsync(LeaderboardScope scope, LeaderboardPeriod period, int limit, CancellationToken cancellationToken)
    {
        var window = LeaderboardWindow.For(period, LeaderboardWindow.DayOf(time.GetUtcNow()));
        var redisDb = redis.GetDatabase();
        if (!await redisDb.KeyExistsAsync(BuiltKey(scope, window)))
        {
            await RebuildAsync(scope, window, cancellationToken);
        }

        var top = await redisDb.SortedSetRangeByRankWithScoresAsync(Key(scope, window), 0, Math.Clamp(limit, 1, MaxLimit) - 1, Order.Descending);
        return new LeaderboardPage(scope, window, [.. top.Select((e, i) => new LeaderboardEntry(i + 1, Guid.Parse(e.Element.ToString()), (long)e.Score))]);
    }

    /// <summary>
    /// Replaces the board with PostgreSQL's sums: built under a temporary key and renamed over the board in one step,
    /// so readers never see half a board. It holds the leaderboards lock exclusively (see <see cref="ReadModelLocks"/>),
    /// so no settled bet's score is written between its query and the rename.
    /// </summary>
    public async Task RebuildAsync(LeaderboardScope scope, LeaderboardWindow window, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await ReadModelLocks.ExclusiveAsync(transaction, ReadModelLocks.Leaderboards, cancellationToken);
        await using var command = new NpgsqlCommand("""
            SELECT user_id, sum(net_minor)::bigint FROM leaderboard_entries
            WHERE ($1::text IS NULL OR channel = $1) AND ($2::date IS NULL OR day BETWEEN $2 AND $3)
            GROUP BY user_id
            """, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)scope.Channel?.ToString() ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = window.From is { } from ? from : DBNull.Value, NpgsqlDbType = NpgsqlDbType.Date });
        command.Parameters.Add(new NpgsqlParameter { Value = window.To is { } to ? to : DBNull.Value, NpgsqlDbType = NpgsqlDbType.Date });
        var entries = new List<SortedSetEntry>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                entries.Add(new SortedSetEntry(reader.GetGuid(0).ToString(), reader.GetInt64(1)));
            }
        }

        var redisDb = redis.GetDatabase();
        var key = Key(scope, window);
        var staging = (RedisKey)$"{key}:rebuild:{Guid.NewGuid():N}";
        foreach (var chunk in entries.Chunk(1000))
        {
            await redisDb.SortedSetAddAsync(staging, chunk);
        }

        var expiry = window.ExpiresAt?.UtcDateTime;
        if (entries.Count > 0)
        {
            await redisDb.KeyRenameAsync(staging, key);
            await redisDb.KeyExpireAsync(key, expiry);
        }
        else
        {
            await redisDb.KeyDeleteAsync(key);
        }

        await redisDb.StringSetAsync(BuiltKey(scope, window), "1");
        await redisDb.KeyExpireAsync(BuiltKey(scope, window), expiry);
        await transaction.CommitAsync(cancellationToken);
        LogRebuilt(logger, key.ToString(), entries.Count);
    }

    [LoggerMessage(EventId = 5001, EventName = "LeaderboardRebuilt", Level = LogLevel.Information, Message = "Leaderboard {Key} rebuilt from PostgreSQL with {Players} players")]
    private static partial void LogRebuilt(ILogger logger, string key, int players);
}
