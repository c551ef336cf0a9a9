using Npgsql;
using NpgsqlTypes;
using StackExchange.Redis;
using StreamBets.Pools.Data;
using StreamBets.Pools.Management;

namespace StreamBets.Pools.Leaderboards;

/// <summary>A place on a board; <paramref name="DisplayName"/> is null for a player whose name Users has not sent yet.</summary>
public sealed record LeaderboardEntry(int Rank, Guid UserId, long NetMinor, string? DisplayName);

/// <summary>
/// Where the reader stands on a board: <paramref name="Rank"/> is null off the board (net at or below zero, or below
/// its top <see cref="Leaderboards.BoardSize"/>); <paramref name="NetMinor"/> is their net winnings over the board's days.
/// </summary>
public sealed record LeaderboardPlace(int? Rank, long NetMinor);

public sealed record LeaderboardPage(LeaderboardScope Scope, LeaderboardWindow Window, IReadOnlyList<LeaderboardEntry> Entries, LeaderboardPlace? Me);

/// <summary>
/// Net winnings boards in Redis sorted sets (one per scope and period, e.g. "pools:leaderboard:global:week:2026-W11"),
/// backed by <c>leaderboard_entries</c> in PostgreSQL (per channel, day and player), <c>leaderboard_totals</c>
/// (per player and channel, all time) and <c>leaderboard_player_totals</c> (per player, all time).
/// Each batch of settled bets updates PostgreSQL in the handler's inbox transaction, then sets each player's six scores
/// (global and channel, day, week and all time) to the sums PostgreSQL now holds: absolute values, so a redelivered
/// event or a retried batch can never count twice, as ZINCRBY would. The leaderboards lock, held exclusively until the
/// commit, orders concurrent handlers (a player's bets settle on several partitions), so the last score written is the
/// complete sum. That is why the scores are written before the commit: after it, nothing would order two handlers'
/// writes. A batch that then rolls back (another event of its group commit failed) shows its scores until the dispatcher
/// applies it again on its own, at once. A board without its cut-off member (never read, or Redis restarted, flushed,
/// evicted or expired it) is rebuilt from PostgreSQL before it is read, by one reader of each replica at a time (see <see cref="TopAsync"/>).
/// <para>
/// A board holds the top <see cref="BoardSize"/> players who are up, not all of them: reads show at most
/// <see cref="MaxLimit"/>, and a sorted set of every winner of a 1,000,000-bet pool cost Redis 30 CPU-s per million
/// bets (about 10 µs per insert into half a million members, each a chain of cache misses on this box) and its memory
/// grew with every winner ever. The cut-off member (<see cref="CutoffMember"/>, always the board's lowest) scores the
/// best net left off the board, 0 while nobody is, so an update is exact: a score above it joins the board, one at or
/// below it leaves (PostgreSQL keeps every sum), and the board is trimmed back to its size by dropping its lowest, whose
/// best becomes the new cut-off. When leaders fall and fewer than a tenth of the places are left above a cut-off, the
/// cut-off member is removed and the next read rebuilds the board. It lives inside the board, not in a key of its own,
/// so Redis can only lose both together: a board evicted under a kept marker would have read as built and empty.
/// </para>
/// </summary>
public sealed partial class Leaderboards(IConnectionMultiplexer redis, NpgsqlDataSource database, TimeProvider time, ILogger<Leaderboards> logger)
{
    public const int MaxLimit = 100;

    /// <summary>Players a board keeps in Redis: enough that leaders falling off rarely leave fewer than a read shows.</summary>
    public const int BoardSize = 10_000;

    /// <summary>The member that marks a board as built and scores its cut-off; no player id is empty.</summary>
    private static readonly RedisValue CutoffMember = RedisValue.EmptyString;

    /// <summary>
    /// How long Redis keeps a channel's all-time board after it was last built, written by settled bets or read. Without
    /// it every board anyone ever read stayed for ever (under volatile-* eviction a key without expiry is never evicted),
    /// dead channels' too; one that expires is rebuilt from PostgreSQL on its next read, like any board Redis lost.
    /// </summary>
    public static readonly TimeSpan ChannelAllTimeKeptFor = TimeSpan.FromDays(30);

    /// <summary>A read renews a board's expiry only once it has run down this much: one write a day per board, not one per read.</summary>
    private static readonly TimeSpan ReadRenewsAfter = TimeSpan.FromDays(1);

    /// <summary>
    /// A board's sliding expiry: a channel's all-time board only. Day and week boards end at a fixed time
    /// (<see cref="LeaderboardWindow.ExpiresAt"/>); the global all-time board is one key, read by every page and built at
    /// start-up, so it is kept.
    /// </summary>
    private static TimeSpan? KeptFor(LeaderboardScope scope, LeaderboardWindow window) =>
        window.ExpiresAt is null && scope.Channel is not null ? ChannelAllTimeKeptFor : null;

    /// <summary>
    /// Sets one board's scores. KEYS[1] = the board; ARGV[1] = <see cref="BoardSize"/>, ARGV[2] = the size below which a
    /// cut board is rebuilt, ARGV[3] = when the board expires (unix seconds, 0 for none), ARGV[4] = for how long it is
    /// kept from now (seconds, 0 for none: see <see cref="KeptFor"/>), then player and net pairs.
    /// Atomic, so concurrent batches of other players keep the cut-off exact. The cut-off member ('') sorts first: it
    /// scores at most every player's net, and before any equal one.
    /// </summary>
    private const string SetScoresScript = """
        local cutoff = redis.call('ZSCORE', KEYS[1], '')
        if not cutoff then
          return 0 -- not built: its first read rebuilds it from PostgreSQL, which already holds these sums
        end
        cutoff = tonumber(cutoff) -- 0 while every player who is up is on the board
        local adds, removes = {}, {}
        for i = 5, #ARGV, 2 do
          if tonumber(ARGV[i + 1]) > cutoff then
            adds[#adds + 1] = ARGV[i + 1]
            adds[#adds + 1] = ARGV[i]
          else
            removes[#removes + 1] = ARGV[i]
          end
        end
        -- In chunks: a Lua call takes a few thousand arguments at most.
        for i = 1, #adds, 1000 do
          redis.call('ZADD', KEYS[1], unpack(adds, i, math.min(i + 999, #adds)))
        end
        for i = 1, #removes, 1000 do
          redis.call('ZREM', KEYS[1], unpack(removes, i, math.min(i + 999, #removes)))
        end
        local size = redis.call('ZCARD', KEYS[1]) - 1
        if size > tonumber(ARGV[1]) then
          local over = size - tonumber(ARGV[1])
          local dropped = redis.call('ZRANGE', KEYS[1], 1, over, 'WITHSCORES')
          redis.call('ZREMRANGEBYRANK', KEYS[1], 1, over)
          redis.call('ZADD', KEYS[1], dropped[#dropped], '')
        elseif cutoff > 0 and size < tonumber(ARGV[2]) then
          redis.call('ZREM', KEYS[1], '')
        end
        if ARGV[3] ~= '0' then
          redis.call('EXPIREAT', KEYS[1], ARGV[3])
        elseif ARGV[4] ~= '0' then
          redis.call('EXPIRE', KEYS[1], ARGV[4])
        end
        return 1
        """;

    /// <summary>
    /// Each player's six scores: day and week from this week's daily rows, all time from the totals, so bounded by the
    /// player's channels, not their history. LATERAL makes it one index probe per player and table whatever the
    /// statistics say. Written with "user_id = ANY($1)", the planner read every row of the day through the day index
    /// and scanned the totals (in parallel workers, forked per call) while a big pool of new players grew the tables
    /// faster than ANALYZE followed: 43,000 rows read for 1,000 players early in a 1,000,000-bet settlement, 231,000 later.
    /// </summary>
    internal const string ScoresSql = """
        SELECT u.user_id,
               coalesce(w.day_global, 0), coalesce(w.week_global, 0), coalesce(t.all_global, 0),
               coalesce(w.day_channel, 0), coalesce(w.week_channel, 0), coalesce(t.all_channel, 0)
        FROM unnest($1::uuid[]) AS u(user_id)
        CROSS JOIN LATERAL (
            SELECT sum(net_minor) FILTER (WHERE day = $2) AS day_global,
                   sum(net_minor) AS week_global,
                   sum(net_minor) FILTER (WHERE channel = $5 AND day = $2) AS day_channel,
                   sum(net_minor) FILTER (WHERE channel = $5) AS week_channel
            FROM leaderboard_entries e WHERE e.user_id = u.user_id AND e.day BETWEEN $3 AND $4) w
        CROSS JOIN LATERAL (
            SELECT sum(net_minor) AS all_global, sum(net_minor) FILTER (WHERE channel = $5) AS all_channel
            FROM leaderboard_totals t WHERE t.user_id = u.user_id) t
        """;

    /// <summary>
    /// Sets each player's all-time total over every channel to the sum of their channels' totals, just upserted: an
    /// absolute value, so a total that ever drifted (an older replica settling while this table was new) is exact again
    /// at the player's next settlement. Rewritten only when it moved; unindexed but for its key, so the update stays HOT.
    /// </summary>
    internal const string PlayerTotalsSql = """
        INSERT INTO leaderboard_player_totals (user_id, net_minor)
        SELECT u.user_id, t.net_minor
        FROM unnest($1::uuid[]) AS u(user_id)
        CROSS JOIN LATERAL (SELECT sum(net_minor) AS net_minor FROM leaderboard_totals t WHERE t.user_id = u.user_id) t
        ON CONFLICT (user_id) DO UPDATE SET net_minor = EXCLUDED.net_minor
        WHERE leaderboard_player_totals.net_minor <> EXCLUDED.net_minor
        """;

    public static RedisKey Key(LeaderboardScope scope, LeaderboardWindow window) => $"pools:leaderboard:{scope}:{window.Period.ToString().ToLowerInvariant()}:{window.Key}";

    /// <summary>
    /// Adds settled bets' net results (payout - stake) on one channel, in the handler's transaction: one upsert, one
    /// sums query and one Redis round trip for the whole batch, whatever its size.
    /// </summary>
    public async Task RecordAsync(NpgsqlTransaction transaction, Channel channel, IEnumerable<(Guid UserId, long NetMinor)> results, DateTimeOffset settledAt, CancellationToken cancellationToken)
    {
        var nets = new SortedDictionary<Guid, long>();
        foreach (var (userId, netMinor) in results)
        {
            nets[userId] = nets.GetValueOrDefault(userId) + netMinor;
        }
        // A player whose net in the batch is zero (refunds, or bets that cancel out) moves no sum, so is left out: a
        // cancelled 1,000,000-bet pool wrote a million zero rows into each table and held the leaderboards lock ~20 s.
        foreach (var (userId, _) in nets.Where(n => n.Value == 0).ToArray())
        {
            nets.Remove(userId);
        }
        if (nets.Count == 0)
        {
            return;
        }

        var day = LeaderboardWindow.DayOf(settledAt);
        var week = LeaderboardWindow.For(LeaderboardPeriod.Week, day);
        var users = nets.Keys.ToArray();
        await using var batch = new NpgsqlBatch(transaction.Connection, transaction)
        {
            BatchCommands =
            {
                ReadModelLocks.Exclusive(ReadModelLocks.Leaderboards),
                new NpgsqlBatchCommand("""
                    INSERT INTO leaderboard_entries (channel, day, user_id, net_minor)
                    SELECT $1, $2, n.user_id, n.net_minor FROM unnest($3::uuid[], $4::bigint[]) AS n(user_id, net_minor)
                    ON CONFLICT (user_id, day, channel) DO UPDATE SET net_minor = leaderboard_entries.net_minor + EXCLUDED.net_minor
                    """) { Parameters = { new() { Value = channel.ToString() }, new() { Value = day }, new() { Value = users }, new() { Value = nets.Values.ToArray() } } },
                new NpgsqlBatchCommand("""
                    INSERT INTO leaderboard_totals (user_id, channel, net_minor)
                    SELECT n.user_id, $1, n.net_minor FROM unnest($2::uuid[], $3::bigint[]) AS n(user_id, net_minor)
                    ON CONFLICT (user_id, channel) DO UPDATE SET net_minor = leaderboard_totals.net_minor + EXCLUDED.net_minor
                    """) { Parameters = { new() { Value = channel.ToString() }, new() { Value = users }, new() { Value = nets.Values.ToArray() } } },
                new NpgsqlBatchCommand(PlayerTotalsSql) { Parameters = { new() { Value = users } } },
                new NpgsqlBatchCommand(ScoresSql) { Parameters = { new() { Value = users }, new() { Value = day }, new() { Value = week.From!.Value }, new() { Value = week.To!.Value }, new() { Value = channel.ToString() } } },
            },
        };

        // Six boards (global and channel; day, week and all time), each given every player's new sum in one script call.
        var channelScope = new LeaderboardScope(channel);
        var windows = new[] { LeaderboardScope.Global, channelScope }
            .SelectMany(scope => new[] { LeaderboardPeriod.Day, LeaderboardPeriod.Week, LeaderboardPeriod.All }.Select(period => (Scope: scope, Window: LeaderboardWindow.For(period, day))))
            .ToArray();
        var scores = windows.Select(w => new List<RedisValue>(4 + 2 * users.Length) // the script's four arguments, then pairs
        {
            BoardSize, BoardSize / 10, w.Window.ExpiresAt?.ToUnixTimeSeconds() ?? 0, (long?)KeptFor(w.Scope, w.Window)?.TotalSeconds ?? 0,
        }).ToArray();
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
        {
            await reader.NextResultAsync(cancellationToken); // past the lock query; the upserts return no result set
            while (await reader.ReadAsync(cancellationToken))
            {
                var userId = reader.GetGuid(0);
                var delta = nets[userId];
                var member = (RedisValue)userId.ToString();
                for (var i = 0; i < scores.Length; i++)
                {
                    // The batch is on every one of the six boards' days, so each sum moved by the player's net in it.
                    // Nothing to change for a player who was not up and still is not (about half of all bettors: they
                    // lose), so was never on the board.
                    var net = reader.GetInt64(i + 1);
                    if (net > 0 || net - delta > 0)
                    {
                        scores[i].Add(member);
                        scores[i].Add(net);
                    }
                }
            }
        }

        var writes = redis.GetDatabase().CreateBatch();
        var pending = new List<Task>(windows.Length);
        for (var i = 0; i < windows.Length; i++)
        {
            if (scores[i].Count > 4)
            {
                // EVAL, never the script's hash alone: after a Redis restart or failover the client retries an unknown
                // hash as a new command, which a batch already sent never sends, and the handler would wait for ever.
                pending.Add(writes.ScriptEvaluateAsync(SetScoresScript, [Key(windows[i].Scope, windows[i].Window)], [.. scores[i]], CommandFlags.NoScriptCache));
            }
        }

        writes.Execute();
        await Task.WhenAll(pending);
    }

    /// <summary>
    /// The current board of the scope and period (today's day or week in UTC), best first, and where <paramref name="reader"/>
    /// stands on it when given; null when the board is missing and could not be built: another reader's build
    /// went on past <see cref="BuildWaitsAtMost"/>, or settled bets held the leaderboards lock past <see cref="BuildLockTimeout"/>;
    /// the caller may try again shortly.
    /// </summary>
    public async Task<LeaderboardPage?> TopAsync(LeaderboardScope scope, LeaderboardPeriod period, int limit, Guid? reader, CancellationToken cancellationToken)
    {
        var window = LeaderboardWindow.For(period, LeaderboardWindow.DayOf(time.GetUtcNow()));
        var redisDb = redis.GetDatabase();
        var key = Key(scope, window);
        var count = Math.Clamp(limit, 1, MaxLimit);
        var member = reader?.ToString() ?? "";
        var built = redisDb.SortedSetScoreAsync(key, CutoffMember);
        var keptFor = KeptFor(scope, window);
        var timeToLive = keptFor is null ? Task.FromResult<TimeSpan?>(null) : redisDb.KeyTimeToLiveAsync(key);
        var (top, rank, score) = Read();
        await Task.WhenAll(built, timeToLive, top, rank, score);
        if (built.Result is not null && keptFor is { } kept && (timeToLive.Result is null || timeToLive.Result < kept - ReadRenewsAfter))
        {
            // A board still read is kept. Not waited for: a lost EXPIRE is redone by the next read. A board that earlier
            // versions left without expiry (no TTL, yet built) gets one here.
            _ = redisDb.KeyExpireAsync(key, kept, CommandFlags.FireAndForget);
        }
        if (built.Result is null)
        {
            if (scope.Channel is { } channel && !await HasPoolsAsync(channel, cancellationToken))
            {
                // Nobody can have won or lost on a channel without pools: answer the empty board without building it,
                // so made-up channels cost one index probe, not the leaderboards lock, a scan and a Redis key each.
                return new LeaderboardPage(scope, window, [], reader is null ? null : new LeaderboardPlace(null, 0));
            }
            if (!await BuildOrWaitAsync(scope, window, cancellationToken))
            {
                return null;
            }
            (top, rank, score) = Read();
            await Task.WhenAll(top, rank, score);
        }

        // The cut-off member is in the range only when the board holds fewer players than asked for.
        var places = (await top).Where(e => e.Element != CutoffMember).Select(e => (UserId: Guid.Parse(e.Element.ToString()), Net: (long)e.Score)).ToArray();
        var names = await NamesAsync([.. places.Select(p => p.UserId)], cancellationToken);
        LeaderboardPlace? me = null;
        if (reader is { } readerId)
        {
            // Two reads: a player who leaves the board between them has a rank and no score, and PostgreSQL answers.
            me = await rank is { } position && await score is { } net
                ? new LeaderboardPlace((int)position + 1, (long)net)
                : new LeaderboardPlace(null, await NetOfAsync(readerId, scope, window, cancellationToken));
        }
        return new LeaderboardPage(scope, window,
            [.. places.Select((p, i) => new LeaderboardEntry(i + 1, p.UserId, p.Net, names.GetValueOrDefault(p.UserId)))], me);

        // The reader's rank and score come from the same sorted set as the top, so both agree on ties.
        (Task<SortedSetEntry[]> Top, Task<long?> Rank, Task<double?> Score) Read() => (
            redisDb.SortedSetRangeByRankWithScoresAsync(key, 0, count - 1, Order.Descending),
            reader is null ? Task.FromResult<long?>(null) : redisDb.SortedSetRankAsync(key, member, Order.Descending),
            reader is null ? Task.FromResult<double?>(null) : redisDb.SortedSetScoreAsync(key, member));
    }

    internal const string NetOfPlayerSql =
        "SELECT coalesce(sum(net_minor), 0)::bigint FROM leaderboard_entries WHERE user_id = $1 AND ($2::text IS NULL OR channel = $2) AND day BETWEEN $3 AND $4";

    internal const string NetOfPlayerAllTimeSql =
        "SELECT coalesce(sum(net_minor), 0)::bigint FROM leaderboard_totals WHERE user_id = $1 AND ($2::text IS NULL OR channel = $2)";

    /// <summary>Whether any pool that could have taken bets was ever on the channel (each half of the OR reads a partial index).</summary>
    private async Task<bool> HasPoolsAsync(Channel channel, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(HasPoolsSql);
        command.Parameters.AddWithValue(channel.Provider);
        command.Parameters.AddWithValue(channel.ChannelId);
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    internal const string HasPoolsSql = """
        SELECT EXISTS (SELECT 1 FROM pools WHERE channel_provider = $1 AND channel_id = $2 AND state IN ('open', 'locked'))
            OR EXISTS (SELECT 1 FROM pools WHERE channel_provider = $1 AND channel_id = $2 AND state IN ('resolved', 'cancelled'))
        """;

    /// <summary>A player's net over a board's days from PostgreSQL's sums (one index range: both tables are keyed by player first).</summary>
    private async Task<long> NetOfAsync(Guid userId, LeaderboardScope scope, LeaderboardWindow window, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(window.From is null ? NetOfPlayerAllTimeSql : NetOfPlayerSql);
        command.Parameters.Add(new NpgsqlParameter { Value = userId, NpgsqlDbType = NpgsqlDbType.Uuid });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)scope.Channel?.ToString() ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        if (window.From is { } from)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = from, NpgsqlDbType = NpgsqlDbType.Date });
            command.Parameters.Add(new NpgsqlParameter { Value = window.To!.Value, NpgsqlDbType = NpgsqlDbType.Date });
        }
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>Keeps a player's display name (from Users' events) unless a newer one is already kept.</summary>
    public static async Task SaveNameAsync(NpgsqlTransaction transaction, Guid userId, string displayName, DateTimeOffset changedAt, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            INSERT INTO player_names (user_id, display_name, changed_at) VALUES ($1, $2, $3)
            ON CONFLICT (user_id) DO UPDATE SET display_name = excluded.display_name, changed_at = excluded.changed_at
            WHERE player_names.changed_at <= excluded.changed_at
            """, transaction.Connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = userId, NpgsqlDbType = NpgsqlDbType.Uuid });
        command.Parameters.Add(new NpgsqlParameter { Value = displayName, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = changedAt, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<Dictionary<Guid, string>> NamesAsync(Guid[] userIds, CancellationToken cancellationToken)
    {
        var names = new Dictionary<Guid, string>(userIds.Length);
        if (userIds.Length == 0)
        {
            return names;
        }
        await using var command = database.CreateCommand("SELECT user_id, display_name FROM player_names WHERE user_id = ANY($1)");
        command.Parameters.Add(new NpgsqlParameter { Value = userIds, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Uuid });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            names[reader.GetGuid(0)] = reader.GetString(1);
        }
        return names;
    }

    /// <summary>
    /// The top of a channel's all-time board ($1 the channel; $2 how many): only its rows
    /// (<c>leaderboard_totals_by_channel</c>), since the build holds the lock every settled bet waits on.
    /// </summary>
    internal const string BuildAllTimeSql = """
        SELECT user_id, sum(net_minor)::bigint AS net FROM leaderboard_totals
        WHERE channel = $1
        GROUP BY user_id HAVING sum(net_minor) > 0
        ORDER BY net DESC, user_id LIMIT $2
        """;

    /// <summary>
    /// The top of the global all-time board ($1 how many): one row per player, read with a top-N sort. Summed from
    /// <c>leaderboard_totals</c>, it grouped every player's every channel under the lock; an index on net would be
    /// cheaper here but cost every settled bet (script 015).
    /// </summary>
    internal const string BuildGlobalAllTimeSql = """
        SELECT user_id, net_minor FROM leaderboard_player_totals
        WHERE net_minor > 0
        ORDER BY net_minor DESC, user_id LIMIT $1
        """;

    /// <summary>The top of a day or week board ($3 to $4); a channel's reads only its rows of those days (<c>leaderboard_entries_by_channel</c>).</summary>
    internal const string BuildDaysSql = """
        SELECT user_id, sum(net_minor)::bigint AS net FROM leaderboard_entries
        WHERE ($1::text IS NULL OR channel = $1) AND day BETWEEN $3 AND $4
        GROUP BY user_id HAVING sum(net_minor) > 0
        ORDER BY net DESC, user_id LIMIT $2
        """;

    /// <summary>How long a reader that found its board missing waits for this process's builder before giving up.</summary>
    private static readonly TimeSpan BuildWaitsAtMost = TimeSpan.FromSeconds(3);

    /// <summary>How often a waiting reader looks for the board in Redis and for a free turn to build.</summary>
    private static readonly TimeSpan BuildRetriesEvery = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// How long the builder waits in the leaderboards lock's queue: a few of settled bets' group commits, which hold it
    /// for seconds each, not a whole settlement.
    /// </summary>
    private const string BuildLockTimeout = "10s";

    /// <summary>One build at a time in this process, so readers of missing boards hold at most one pooled connection.</summary>
    private readonly SemaphoreSlim building = new(1, 1);

    /// <summary>
    /// Builds the missing board, one reader of this process at a time; the others wait for their turn without a
    /// connection, looking for the board in Redis, for at most <see cref="BuildWaitsAtMost"/>: true once the board is
    /// there. Readers queued on the lock held a pooled connection each behind settled bets' group commits, which hold it
    /// for seconds: after a Redis flush, or at midnight when every day board is new, they took the whole pool, and pool
    /// reads, admin calls and Settlement's CalculatePayouts stalled with them.
    /// </summary>
    private async Task<bool> BuildOrWaitAsync(LeaderboardScope scope, LeaderboardWindow window, CancellationToken cancellationToken)
    {
        var giveUpAt = time.GetUtcNow() + BuildWaitsAtMost;
        while (!building.Wait(0))
        {
            if (time.GetUtcNow() >= giveUpAt)
            {
                return false;
            }
            await Task.Delay(BuildRetriesEvery, time, cancellationToken);
            if (await IsBuiltAsync(scope, window))
            {
                return true;
            }
        }
        try
        {
            // Another reader's build, just finished, may have been this board's.
            return await IsBuiltAsync(scope, window) || await BuildAsync(scope, window, cancellationToken);
        }
        finally
        {
            building.Release();
        }
    }

    private async Task<bool> IsBuiltAsync(LeaderboardScope scope, LeaderboardWindow window) =>
        await redis.GetDatabase().SortedSetScoreAsync(Key(scope, window), CutoffMember) is not null;

    /// <summary>
    /// Replaces the board with the top of PostgreSQL's sums: built under a temporary key and renamed over the board in
    /// one step, so readers never see half a board. It holds the leaderboards lock exclusively (see <see cref="ReadModelLocks"/>),
    /// so no settled bet's score is written between its query and the rename. It queues for the lock: PostgreSQL grants
    /// a released advisory lock to the first session waiting for it, so while settled bets on two replicas took turns a
    /// try (pg_try_advisory_xact_lock) never found it free and readers were answered 503 for the whole settlement.
    /// False, having built nothing, when the lock is not granted within <see cref="BuildLockTimeout"/>. A builder that
    /// takes the lock after another's build (another replica's) finds the board built and returns.
    /// </summary>
    private async Task<bool> BuildAsync(LeaderboardScope scope, LeaderboardWindow window, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var locking = new NpgsqlBatch(connection, transaction)
        {
            BatchCommands = { new($"SET LOCAL lock_timeout = '{BuildLockTimeout}'"), ReadModelLocks.Exclusive(ReadModelLocks.Leaderboards) },
        })
        {
            try
            {
                await locking.ExecuteNonQueryAsync(cancellationToken);
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.LockNotAvailable)
            {
                return false;
            }
        }
        var redisDb = redis.GetDatabase();
        var key = Key(scope, window);
        if (await redisDb.SortedSetScoreAsync(key, CutoffMember) is not null)
        {
            return true;
        }

        // A day or week board sums its days; a channel's all-time board its totals; the global one reads the players'
        // totals. One row past the board's size tells whether players were left off, and the best of them.
        await using var command = new NpgsqlCommand(null, connection, transaction);
        var limit = new NpgsqlParameter { Value = BoardSize + 1, NpgsqlDbType = NpgsqlDbType.Integer };
        if (window.From is null && scope.Channel is null)
        {
            command.CommandText = BuildGlobalAllTimeSql;
            command.Parameters.Add(limit);
        }
        else
        {
            command.CommandText = window.From is null ? BuildAllTimeSql : BuildDaysSql;
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)scope.Channel?.ToString() ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            command.Parameters.Add(limit);
        }
        if (window.From is { } from)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = from, NpgsqlDbType = NpgsqlDbType.Date });
            command.Parameters.Add(new NpgsqlParameter { Value = window.To!.Value, NpgsqlDbType = NpgsqlDbType.Date });
        }
        var entries = new List<SortedSetEntry>(BoardSize + 1);
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                entries.Add(new SortedSetEntry(reader.GetGuid(0).ToString(), reader.GetInt64(1)));
            }
        }

        double cutoff = 0;
        if (entries.Count > BoardSize)
        {
            cutoff = entries[BoardSize].Score;
            entries.RemoveAt(BoardSize);
        }
        entries.Add(new SortedSetEntry(CutoffMember, cutoff));

        // The staging key expires from its first write, so a build that times out or dies before the rename leaves
        // nothing for ever (under volatile-lru a key without expiry is never evicted either).
        var staging = (RedisKey)$"{key}:rebuild:{Guid.NewGuid():N}";
        foreach (var chunk in entries.Chunk(1000))
        {
            var write = redisDb.CreateTransaction();
            var added = write.SortedSetAddAsync(staging, chunk);
            var expiring = write.KeyExpireAsync(staging, StagingKeptFor);
            await ExecuteAsync(write, added, expiring);
        }

        // Renamed and given the board's expiry (RENAME keeps the staging key's: none for the global all-time board,
        // ChannelAllTimeKeptFor from now for a channel's) in one MULTI, so a crash between them cannot leave a board
        // that never expires, or one that expires with the staging key; and only if the staging key holds every chunk
        // (Redis restarted from an older copy meanwhile, or dropped it), never as a board missing players.
        var publish = redisDb.CreateTransaction();
        publish.AddCondition(Condition.SortedSetLengthEqual(staging, entries.Count));
        var renamed = publish.KeyRenameAsync(staging, key);
        var expires = KeptFor(scope, window) is { } keptFor
            ? publish.KeyExpireAsync(key, keptFor)
            : publish.KeyExpireAsync(key, window.ExpiresAt?.UtcDateTime);
        await ExecuteAsync(publish, renamed, expires);
        // The separate markers that earlier versions kept next to a board; the all-time ones would never expire.
        await redisDb.KeyDeleteAsync([$"{key}:cutoff", $"{key}:built"]);
        await transaction.CommitAsync(cancellationToken);
        LogRebuilt(logger, key.ToString(), entries.Count - 1);
        return true;
    }

    /// <summary>How long a rebuild's staging key outlives its writer: far longer than any build takes.</summary>
    private static readonly TimeSpan StagingKeptFor = TimeSpan.FromMinutes(10);

    /// <summary>Runs the MULTI and surfaces a command's error (EXEC runs the others regardless), or a refused EXEC.</summary>
    private static async Task ExecuteAsync(ITransaction transaction, params Task[] commands)
    {
        if (!await transaction.ExecuteAsync())
        {
            throw new RedisException("A leaderboard rebuild's Redis transaction was refused: its staging key no longer held every chunk.");
        }
        await Task.WhenAll(commands);
    }

    [LoggerMessage(EventId = 5001, EventName = "LeaderboardRebuilt", Level = LogLevel.Information, Message = "Leaderboard {Key} built from PostgreSQL with its top {Players} players")]
    private static partial void LogRebuilt(ILogger logger, string key, int players);
}
