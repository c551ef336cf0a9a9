using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using StreamBets.Messaging.Transports;

namespace StreamBets.Messaging.Outbox;

/// <summary>
/// Publishes committed outbox rows to the broker, in position order, and deletes each row only after the broker
/// acknowledged it. A crash or a dead broker leaves the rows in place to be published later (at least once).
/// </summary>
/// <remarks>
/// One relay per database publishes at a time: the replica holding a PostgreSQL session advisory lock is the leader, the
/// others retry every <see cref="OutboxRelayOptions.LeaderRetryInterval"/>. A single reader of the outbox is what keeps
/// per-key order without coordination; the lock is released by PostgreSQL itself when the leader's session dies.
/// <para>
/// Every replica, leader or not, measures the backlog: when no replica leads (a dead leader's session that PostgreSQL
/// keeps until TCP keepalive gives up, say), the backlog is exactly what must still show.
/// </para>
/// </remarks>
internal sealed partial class OutboxRelay(
    MessagingDatabase database,
    IEventPublisher publisher,
    OutboxSignal signal,
    EventBusOptions options,
    TimeProvider time,
    ILogger<OutboxRelay> logger) : BackgroundService
{
    private const long LeaderLockKey = 0x5342_4F55_5442_4F58; // "SBOUTBOX"

    private const string ReadSql = """
        SELECT position, event_id, topic, partition_key, event_type, envelope::text, attempts
        FROM outbox ORDER BY position LIMIT $1
        """;

    // While keys are blocked their later rows, and their head while it waits for its retry, are left out of the read,
    // so a key that keeps growing behind a refused row cannot fill every batch and starve the other keys.
    private const string ReadSkippingBlockedKeysSql = """
        SELECT o.position, o.event_id, o.topic, o.partition_key, o.event_type, o.envelope::text, o.attempts
        FROM outbox o
        WHERE NOT EXISTS (
            SELECT 1 FROM unnest($2::text[], $3::text[], $4::bigint[], $5::boolean[]) AS b(topic, partition_key, head, due)
            WHERE b.topic = o.topic AND b.partition_key = o.partition_key AND (o.position > b.head OR NOT b.due))
        ORDER BY o.position LIMIT $1
        """;

    private readonly OutboxRelayOptions _relay = options.Relay;
    private readonly string _serviceName = options.ServiceName;
    private long _pending;
    private double _oldestAgeSeconds;
    private long _lagSampledAtTicks;
    private bool _isLeader;

    /// <summary>True while this replica holds the relay lock (exposed for tests and health).</summary>
    public bool IsLeader => Volatile.Read(ref _isLeader);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Volatile.Write(ref _lagSampledAtTicks, time.GetUtcNow().UtcTicks);
        Running.TryAdd(this, 0);
        try
        {
            await Task.WhenAll(RelayUntilStoppedAsync(stoppingToken), SampleLagUntilStoppedAsync(stoppingToken));
        }
        finally
        {
            Running.TryRemove(this, out _);
        }
    }

    private async Task RelayUntilStoppedAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await LeadWhileHoldingLockAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // Database gone, session broken or anything unforeseen: give up leadership, keep the rows, try again.
                LogRelayInterrupted(e);
            }
            Volatile.Write(ref _isLeader, false);
            await Task.Delay(_relay.LeaderRetryInterval, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task LeadWhileHoldingLockAsync(CancellationToken stoppingToken)
    {
        // The lock and LISTEN live on one dedicated, unpooled session: if it dies, leadership and notifications end
        // together, and when this method ends, closing it gives the lock up at once (a pooled one would keep it).
        await using var session = await database.LockSessions.OpenConnectionAsync(stoppingToken);
        await using (var tryLock = new NpgsqlCommand("SELECT pg_try_advisory_lock($1)", session))
        {
            tryLock.Parameters.AddWithValue(LeaderLockKey);
            if (await tryLock.ExecuteScalarAsync(stoppingToken) is not true)
            {
                return;
            }
        }

        Volatile.Write(ref _isLeader, true);
        LogBecameLeader();
        session.Notification += (_, _) => signal.Wake();
        await using (var listen = new NpgsqlCommand($"LISTEN {TransactionalOutbox.NotifyChannel}", session))
        {
            await listen.ExecuteNonQueryAsync(stoppingToken);
        }

        using var leadership = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var publishing = PublishLoopAsync(leadership.Token);
        // Beside publishing, not in its loop: a long cleanup must never hold events back, and a failed one must never
        // end the leadership (it did: a delete past the command timeout, rolled back, ran first in every new term).
        var cleaningInbox = CleanInboxWhileLeadingAsync(leadership.Token);
        try
        {
            // Receives NOTIFYs until the session breaks (leadership lost), publishing fails, or the host stops.
            var listening = ListenAsync(session, leadership.Token);
            await Task.WhenAny(listening, publishing);
            // Whichever ended, the other must too: a publisher that failed must not leave this replica holding the lock
            // (and so the leadership) while nothing publishes.
            await leadership.CancelAsync();
            await listening.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        finally
        {
            await leadership.CancelAsync();
            await publishing.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await cleaningInbox.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            Volatile.Write(ref _isLeader, false);
        }
        await publishing; // Surfaces a publishing-loop failure so the outer loop logs it and retries.
    }

    private static async Task ListenAsync(NpgsqlConnection session, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            await session.WaitAsync(cancellationToken);
        }
    }

    private async Task PublishLoopAsync(CancellationToken cancellationToken)
    {
        // Per leadership term: a new leader tries every key's head again at once.
        var blocked = new Dictionary<(string Topic, string Key), BlockedKey>();
        var wholeRoundsFailed = 0;
        var lastRows = DateTimeOffset.MinValue;
        while (!cancellationToken.IsCancellationRequested)
        {
            var now = time.GetUtcNow();
            var rows = await ReadBatchAsync(blocked, now, cancellationToken);
            if (blocked.Count > 0 && rows.Count < _relay.BatchSize)
            {
                // The read was not cut short, so a due head it did not return is gone (deleted by hand): forget its key.
                var read = rows.Select(r => r.Position).ToHashSet();
                foreach (var (key, _) in blocked.Where(b => b.Value.RetryAt <= now && !read.Contains(b.Value.HeadPosition)).ToList())
                {
                    blocked.Remove(key);
                }
            }
            if (rows.Count == 0)
            {
                // Busy lately: poll briefly, since debounced writers do not NOTIFY every commit. Idle: wait for a NOTIFY.
                var hot = time.GetUtcNow() - lastRows < _relay.HotPeriod;
                var wait = hot ? _relay.HotPollInterval : _relay.PollInterval;
                if (blocked.Count > 0)
                {
                    var nextRetry = blocked.Values.Min(b => b.RetryAt) - time.GetUtcNow();
                    wait = nextRetry < wait ? (nextRetry > TimeSpan.Zero ? nextRetry : TimeSpan.Zero) : wait;
                }
                await signal.WaitAsync(wait, cancellationToken);
                continue;
            }
            lastRows = time.GetUtcNow();

            // A failed key backs off on its own (its rows leave the reads until its retry), so the other keys go on
            // at once: a refusal that never heals sets nobody's pace but its own key's.
            var (failures, error, retryIn) = await PublishAndDeleteAsync(rows, blocked, cancellationToken);
            if (failures > 0)
            {
                LogPublishFailed(error, failures, rows.Count, retryIn.TotalMilliseconds);
            }
            // Nothing went through for several keys: the broker itself is likely down. The relay backs off as a whole
            // too, or a backlog of many keys would be swept back to back, a failed batch (and its writes and log) each.
            // A lone key refused alone sets no such pace.
            if (failures == rows.Count && blocked.Count > 1)
            {
                wholeRoundsFailed++;
                await Task.Delay(Backoff.Delay(wholeRoundsFailed, options.RetryInitialDelay, options.RetryMaxDelay), time, cancellationToken);
            }
            else
            {
                wholeRoundsFailed = 0;
            }
        }
    }

    /// <summary>A key whose head row (the earliest still waiting) the broker did not acknowledge.</summary>
    private readonly record struct BlockedKey(long HeadPosition, DateTimeOffset RetryAt);

    private async Task<List<OutgoingMessage>> ReadBatchAsync(
        Dictionary<(string Topic, string Key), BlockedKey> blocked, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // No blocked key (the normal case): the plain read by position.
        await using var read = database.DataSource.CreateCommand(blocked.Count == 0 ? ReadSql : ReadSkippingBlockedKeysSql);
        read.Parameters.AddWithValue(_relay.BatchSize);
        if (blocked.Count > 0)
        {
            read.Parameters.AddWithValue(blocked.Keys.Select(k => k.Topic).ToArray());
            read.Parameters.AddWithValue(blocked.Keys.Select(k => k.Key).ToArray());
            read.Parameters.AddWithValue(blocked.Values.Select(b => b.HeadPosition).ToArray());
            read.Parameters.AddWithValue(blocked.Values.Select(b => b.RetryAt <= now).ToArray());
        }
        await using var reader = await read.ExecuteReaderAsync(cancellationToken);
        var rows = new List<OutgoingMessage>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new OutgoingMessage(
                reader.GetInt64(0), reader.GetGuid(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                Encoding.UTF8.GetBytes(reader.GetString(5)))
            {
                Attempts = reader.GetInt32(6),
            });
        }
        return rows;
    }

    /// <returns>The number of rows the broker did not acknowledge, the last error it gave (null when none), and when the
    /// first key that failed is retried.</returns>
    private async Task<(int Failures, Exception? LastError, TimeSpan RetryIn)> PublishAndDeleteAsync(
        List<OutgoingMessage> rows, Dictionary<(string Topic, string Key), BlockedKey> blocked, CancellationToken cancellationToken)
    {
        using var activity = MessagingTelemetry.Source.StartActivity("outbox relay", ActivityKind.Internal);
        activity?.SetTag("messaging.batch.message_count", rows.Count);

        Exception?[] results;
        try
        {
            results = await publisher.PublishAsync(rows, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            results = Enumerable.Repeat<Exception?>(e, rows.Count).ToArray();
        }

        // A row is done only if it and every earlier row of its key were acknowledged: a later row of a key whose
        // earlier row failed is published again after it, so consumers never see a key's events out of order.
        // The key's head waits Backoff(attempts) before it is tried again; keys that failed together as often retry together.
        var blockedKeys = new HashSet<(string Topic, string Key)>();
        var sent = new List<long>(rows.Count);
        var firstFailures = new List<long>();
        var delays = new Dictionary<int, TimeSpan>();
        var now = time.GetUtcNow();
        var retryIn = TimeSpan.MaxValue;
        Exception? lastError = null;
        for (var i = 0; i < rows.Count; i++)
        {
            var key = (rows[i].Topic, rows[i].Key);
            if (results[i] is { } error)
            {
                lastError = error;
                if (blockedKeys.Add(key))
                {
                    firstFailures.Add(rows[i].Position);
                    var attempts = rows[i].Attempts + 1;
                    if (!delays.TryGetValue(attempts, out var delay))
                    {
                        delays[attempts] = delay = Backoff.Delay(attempts, options.RetryInitialDelay, options.RetryMaxDelay);
                    }
                    blocked[key] = new BlockedKey(rows[i].Position, now + delay);
                    retryIn = delay < retryIn ? delay : retryIn;
                }
            }
            else if (!blockedKeys.Contains(key))
            {
                sent.Add(rows[i].Position);
                blocked.Remove(key);
            }
        }

        var batch = new NpgsqlBatch();
        if (sent.Count > 0)
        {
            var delete = new NpgsqlBatchCommand("DELETE FROM outbox WHERE position = ANY($1)");
            delete.Parameters.AddWithValue(sent.ToArray());
            batch.BatchCommands.Add(delete);
        }
        if (firstFailures.Count > 0)
        {
            var mark = new NpgsqlBatchCommand("UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE position = ANY($1)");
            mark.Parameters.AddWithValue(firstFailures.ToArray());
            mark.Parameters.AddWithValue(Truncate(lastError?.Message ?? "", 2000));
            batch.BatchCommands.Add(mark);
        }
        if (batch.BatchCommands.Count > 0)
        {
            await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken);
            batch.Connection = connection;
            await using (batch)
            {
                await batch.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        MessagingTelemetry.Published.Add(sent.Count);
        var failures = rows.Count - sent.Count;
        if (failures > 0)
        {
            MessagingTelemetry.PublishFailures.Add(failures);
            activity?.SetStatus(ActivityStatusCode.Error, lastError?.Message);
        }
        Interlocked.Add(ref _pending, -sent.Count);
        return (failures, lastError, retryIn);
    }

    private async Task SampleLagUntilStoppedAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await SampleLagAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The last sample stands until the database answers again; its age tells how stale it is.
                LogLagSampleFailed(e.Message);
            }
            await Task.Delay(_relay.LagSampleInterval, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task SampleLagAsync(CancellationToken cancellationToken)
    {
        await using var sample = database.DataSource.CreateCommand(
            "SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 FROM outbox");
        await using var reader = await sample.ExecuteReaderAsync(cancellationToken);
        if (await reader.ReadAsync(cancellationToken))
        {
            Volatile.Write(ref _pending, reader.GetInt64(0));
            Volatile.Write(ref _oldestAgeSeconds, reader.GetDouble(1));
            Volatile.Write(ref _lagSampledAtTicks, time.GetUtcNow().UtcTicks);
        }
    }

    /// <summary>
    /// Deletes the inbox rows older than <see cref="EventBusOptions.InboxRetention"/> at the start of each leadership
    /// term and every <see cref="OutboxRelayOptions.InboxCleanupInterval"/> after, until the term ends.
    /// </summary>
    private async Task CleanInboxWhileLeadingAsync(CancellationToken cancellationToken)
    {
        await Task.Yield(); // Let the caller go on to publishing before the first delete is sent.
        while (!cancellationToken.IsCancellationRequested)
        {
            var wait = _relay.InboxCleanupInterval;
            try
            {
                await DeleteExpiredInboxRowsAsync(cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The batches already deleted stay deleted; the rest waits for the retry. Publishing goes on meanwhile.
                wait = _relay.InboxCleanupRetryDelay < wait ? _relay.InboxCleanupRetryDelay : wait;
                LogInboxCleanupFailed(e, wait.TotalSeconds);
            }
            await Task.Delay(wait, time, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    // Oldest first through inbox_processed_at, one bounded batch per statement: each commits on its own, so a cleanup
    // cut short (timeout, lost leadership) keeps its progress, and no statement holds locks or a snapshot for long.
    private const string DeleteExpiredInboxBatchSql = """
        DELETE FROM inbox i
        USING (SELECT consumer_group, event_id FROM inbox WHERE processed_at < $1 ORDER BY processed_at LIMIT $2) expired
        WHERE i.consumer_group = expired.consumer_group AND i.event_id = expired.event_id
        """;

    private async Task DeleteExpiredInboxRowsAsync(CancellationToken cancellationToken)
    {
        // One cutoff for the whole cleanup, so it ends even while consumers keep adding rows that expire meanwhile.
        var cutoff = time.GetUtcNow() - options.InboxRetention;
        long total = 0;
        int deleted;
        do
        {
            await using var delete = database.DataSource.CreateCommand(DeleteExpiredInboxBatchSql);
            delete.Parameters.AddWithValue(cutoff);
            delete.Parameters.AddWithValue(_relay.InboxCleanupBatchSize);
            deleted = await delete.ExecuteNonQueryAsync(cancellationToken);
            total += deleted;
        }
        while (deleted >= _relay.InboxCleanupBatchSize && !cancellationToken.IsCancellationRequested);
        if (total > 0)
        {
            LogInboxCleaned(total);
        }
    }

    // Every replica reports the same backlog of its service's database: aggregate the series with max, never sum.
    private static readonly ConcurrentDictionary<OutboxRelay, byte> Running = new();

    private static readonly ObservableGauge<long> PendingGauge = MessagingTelemetry.Meter.CreateObservableGauge(
        "streambets.messaging.outbox.pending",
        () => Running.Keys.Select(r => new Measurement<long>(Math.Max(0, Volatile.Read(ref r._pending)), new KeyValuePair<string, object?>("service", r._serviceName))),
        "{event}", "Outbox rows not yet acknowledged by the broker.");

    private static readonly ObservableGauge<double> OldestAgeGauge = MessagingTelemetry.Meter.CreateObservableGauge(
        "streambets.messaging.outbox.oldest_age",
        () => Running.Keys.Select(r => new Measurement<double>(Volatile.Read(ref r._oldestAgeSeconds), new KeyValuePair<string, object?>("service", r._serviceName))),
        "s", "Age of the oldest unpublished outbox row when last sampled.");

    // A failed sample keeps the last pending and oldest_age: this tells "no backlog" from "not measured for an hour".
    private static readonly ObservableGauge<double> LagSampleAgeGauge = MessagingTelemetry.Meter.CreateObservableGauge(
        "streambets.messaging.outbox.lag_sample_age",
        () => Running.Keys.Select(r => new Measurement<double>(r.LagSampleAgeSeconds, new KeyValuePair<string, object?>("service", r._serviceName))),
        "s", "Time since this replica last measured its outbox (pending, oldest_age): those gauges are that old.");

    private double LagSampleAgeSeconds =>
        Math.Max(0, (time.GetUtcNow().UtcTicks - Volatile.Read(ref _lagSampledAtTicks)) / (double)TimeSpan.TicksPerSecond);

    /// <summary>The last sampled outbox lag (tests and diagnostics).</summary>
    internal (long Pending, double OldestAgeSeconds) Lag => (Volatile.Read(ref _pending), Volatile.Read(ref _oldestAgeSeconds));

    private static string Truncate(string text, int length) => text.Length <= length ? text : text[..length];

    [LoggerMessage(EventId = 3001, EventName = "OutboxRelayLeader", Level = LogLevel.Information, Message = "This replica is now the outbox relay leader")]
    private partial void LogBecameLeader();

    // With the broker's error: a refusal that never heals (a message too large, a topic the service may not write)
    // blocks its key for good, and the log is where the on-call reads why (outbox.last_error holds it too).
    [LoggerMessage(EventId = 3002, EventName = "OutboxPublishFailed", Level = LogLevel.Warning, Message = "The broker did not acknowledge {Failed} of {Total} outbox events; their keys are retried in {DelayMs:F0} ms")]
    private partial void LogPublishFailed(Exception? exception, int failed, int total, double delayMs);

    [LoggerMessage(EventId = 3003, EventName = "OutboxRelayInterrupted", Level = LogLevel.Warning, Message = "Outbox relay interrupted; it retries and no row is lost")]
    private partial void LogRelayInterrupted(Exception exception);

    [LoggerMessage(EventId = 3004, EventName = "InboxRowsDeleted", Level = LogLevel.Information, Message = "Deleted {Count} expired inbox rows")]
    private partial void LogInboxCleaned(long count);

    [LoggerMessage(EventId = 3007, EventName = "InboxCleanupFailed", Level = LogLevel.Warning, Message = "Could not delete the expired inbox rows; retrying in {RetryInSeconds:F0} s, and the relay goes on publishing")]
    private partial void LogInboxCleanupFailed(Exception exception, double retryInSeconds);

    [LoggerMessage(EventId = 3006, EventName = "OutboxLagUnread", Level = LogLevel.Warning, Message = "Could not measure the outbox lag: {Error}; the metrics keep the last sample, and its sample age grows")]
    private partial void LogLagSampleFailed(string error);
}
