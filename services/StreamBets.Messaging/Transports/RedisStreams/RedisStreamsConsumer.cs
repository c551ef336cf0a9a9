using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace StreamBets.Messaging.Transports.RedisStreams;

/// <summary>
/// Consumes the subscribed topics' partition streams with XREADGROUP in the service's consumer group.
/// </summary>
/// <remarks>
/// Per-key order with several replicas: each partition stream is processed by exactly one replica at a time, the one
/// holding its lease (a Redis key with a TTL it renews). Replicas register in a membership set and each takes its fair
/// share, ceil(partitions / live replicas), releasing extras after finishing the batch in hand. A new owner first takes
/// over the entries its predecessor left unacknowledged (XAUTOCLAIM), oldest first, then reads new ones. The inbox makes
/// the rare double delivery around a handover harmless.
/// <para>
/// An idle partition waits for its doorbell (a pub/sub message the publisher sends with each append) instead of polling
/// every few milliseconds: 176 idle readers polling every 20 ms cost the whole app about a core. Pub/sub drops the rings
/// sent while the subscription is disconnected, so every owned partition is rung when a connection is restored, and the
/// wait still ends after <see cref="RedisStreamsOptions.IdlePollMax"/> as a backstop.
/// </para>
/// </remarks>
internal sealed partial class RedisStreamsConsumer(
    IConnectionMultiplexer redis,
    EventBusOptions busOptions,
    EventBusIdentity identity,
    TimeProvider time,
    ILogger<RedisStreamsConsumer> logger) : IEventConsumer
{
    // Renews our lease, or takes a lease nobody holds (after a Redis restart the TTLs may have run out).
    private const string RenewScript = """
        local owner = redis.call('GET', KEYS[1])
        if owner == ARGV[1] or not owner then
          redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
          return 1
        end
        return 0
        """;

    private const string ReleaseScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          return redis.call('DEL', KEYS[1])
        end
        return 0
        """;

    // Atomic, so an entry a straggler reads meanwhile is never deleted with its consumer; a consumer that reads again
    // is simply created again.
    private const string ForgetConsumersWithNothingPendingScript = """
        for _, consumer in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
          local fields = {}
          for i = 1, #consumer, 2 do fields[consumer[i]] = consumer[i + 1] end
          if fields['name'] ~= ARGV[2] and fields['pending'] == 0 then
            redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], fields['name'])
          end
        end
        return 0
        """;

    private readonly RedisStreamsOptions _options = busOptions.RedisStreams;
    private readonly RedisStreamNames _names = new(busOptions.RedisStreams);
    private readonly Dictionary<Partition, PartitionWorker> _owned = [];

    private volatile string[] _ownedStreams = [];
    private volatile PartitionWorker[] _ownedWorkers = [];

    /// <summary>The partitions this instance processed at the end of the last balancing round (tests, diagnostics).</summary>
    internal IReadOnlyCollection<string> OwnedStreams => _ownedStreams;

    /// <summary>The owned partitions whose worker has read all there was and waits for its doorbell (tests): an append
    /// made now is read only when rung, or at <see cref="RedisStreamsOptions.IdlePollMax"/>.</summary>
    internal IReadOnlyCollection<string> StreamsWaitingForDoorbell =>
        [.. _ownedWorkers.Where(w => w.WaitingForDoorbell).Select(w => w.Partition.Stream)];

    public async Task RunAsync(IReadOnlyCollection<string> topics, IDeliveryProcessor processor, CancellationToken cancellationToken)
    {
        var partitions = topics
            .SelectMany(topic => Enumerable.Range(0, _options.PartitionsPerTopic).Select(p => new Partition(
                _names.Stream(topic, p), _names.Lease(identity.ConsumerGroup, topic, p))))
            .ToArray();
        var tick = _options.LeaseDuration / 4;
        redis.ConnectionRestored += RingAll;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    await BalanceAsync(partitions, processor, cancellationToken);
                }
                catch (Exception e) when (e is RedisException or TimeoutException)
                {
                    LogRedisUnavailable("lease renewal", e.Message);
                }
                await Task.Delay(tick, time, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
        finally
        {
            redis.ConnectionRestored -= RingAll;
            await Task.WhenAll(_owned.Values.Select(w => w.StopAsync(immediately: true)));
            await ReleaseAllAsync();
        }
    }

    private async Task BalanceAsync(Partition[] partitions, IDeliveryProcessor processor, CancellationToken cancellationToken)
    {
        var database = redis.GetDatabase();
        var now = time.GetUtcNow();
        var nowMs = now.ToUnixTimeMilliseconds();
        var members = _names.Members(identity.ConsumerGroup);
        await database.SortedSetAddAsync(members, identity.InstanceName, nowMs);
        await database.SortedSetRemoveRangeByScoreAsync(members, double.NegativeInfinity, nowMs - _options.LeaseDuration.TotalMilliseconds);
        var live = Math.Max(1, await database.SortedSetLengthAsync(members));
        var fairShare = (int)Math.Ceiling(partitions.Length / (double)live);
        var leaseMs = (long)_options.LeaseDuration.TotalMilliseconds;

        // Keep what we hold; drop a partition whose lease another instance holds, or whose worker stopped.
        foreach (var (partition, worker) in _owned.ToArray())
        {
            var renewed = (long)await database.ScriptEvaluateAsync(RenewScript, [partition.Lease], [identity.InstanceName, leaseMs]) == 1;
            if (renewed && !worker.Completion.IsCompleted)
            {
                worker.LastRenewed = now;
                continue;
            }
            if (worker.Completion.IsFaulted)
            {
                LogWorkerFailed(worker.Completion.Exception, partition.Stream);
            }
            await worker.StopAsync(immediately: !renewed);
            _owned.Remove(partition);
            await database.ScriptEvaluateAsync(ReleaseScript, [partition.Lease], [identity.InstanceName]);
            if (!renewed)
            {
                LogPartitionLost(partition.Stream);
            }
        }

        // Give back partitions beyond the fair share, each after finishing its batch in hand.
        foreach (var (partition, worker) in _owned.Skip(fairShare).ToArray())
        {
            await worker.StopAsync(immediately: false);
            _owned.Remove(partition);
            await database.ScriptEvaluateAsync(ReleaseScript, [partition.Lease], [identity.InstanceName]);
        }

        // Take free partitions up to the fair share, starting at an instance-specific offset to avoid contention.
        var offset = (int)((uint)identity.InstanceName.GetHashCode() % (uint)partitions.Length);
        for (var i = 0; i < partitions.Length && _owned.Count < fairShare; i++)
        {
            var partition = partitions[(offset + i) % partitions.Length];
            if (_owned.ContainsKey(partition))
            {
                continue;
            }
            if (await database.StringSetAsync(partition.Lease, identity.InstanceName, _options.LeaseDuration, When.NotExists))
            {
                _owned[partition] = await PartitionWorker.StartAsync(this, redis.GetSubscriber(), partition, processor, now, cancellationToken);
            }
        }
        _ownedStreams = [.. _owned.Keys.Select(p => p.Stream)];
        _ownedWorkers = [.. _owned.Values];
    }

    /// <summary>Appends made while a connection was down rang nobody: read every owned partition now.</summary>
    private void RingAll(object? sender, ConnectionFailedEventArgs e)
    {
        foreach (var worker in _ownedWorkers)
        {
            worker.Ring();
        }
    }

    private async Task ReleaseAllAsync()
    {
        try
        {
            var database = redis.GetDatabase();
            foreach (var partition in _owned.Keys)
            {
                await database.ScriptEvaluateAsync(ReleaseScript, [partition.Lease], [identity.InstanceName]);
            }
            await database.SortedSetRemoveAsync(_names.Members(identity.ConsumerGroup), identity.InstanceName);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // The leases expire on their own.
        }
        _owned.Clear();
    }

    private async Task ProcessPartitionAsync(PartitionWorker worker, IDeliveryProcessor processor)
    {
        var database = redis.GetDatabase();
        var stream = worker.Partition.Stream;
        var needsClaim = true;
        var recovering = true;
        var failures = 0;
        while (!worker.Stopping.IsCancellationRequested)
        {
            if (time.GetUtcNow() - worker.LastRenewed > _options.LeaseDuration)
            {
                // Unrenewed for a whole lease: another instance may own the partition now. The coordinator restarts us if not.
                return;
            }
            try
            {
                if (needsClaim)
                {
                    await EnsureGroupAsync(database, stream);
                    await ClaimAbandonedAsync(database, stream);
                    needsClaim = false;
                }

                // While recovering, "0-0" re-reads our own unacknowledged entries (oldest first); then ">" reads new ones.
                var entries = await database.StreamReadGroupAsync(
                    stream, identity.ConsumerGroup, identity.InstanceName, recovering ? "0-0" : StreamPosition.NewMessages, _options.ReadBatchSize);
                failures = 0;
                if (entries.Length == 0)
                {
                    if (recovering)
                    {
                        recovering = false;
                        continue;
                    }
                    await worker.WaitForDoorbellAsync(_options.IdlePollMax);
                    continue;
                }
                await DeliverAsync(database, stream, entries, processor, worker.Aborted);
            }
            catch (OperationCanceledException) when (worker.Aborted.IsCancellationRequested)
            {
                return;
            }
            catch (RedisServerException e) when (e.Message.StartsWith("NOGROUP", StringComparison.Ordinal))
            {
                // Redis lost the group (restarted without persistence): create it again and start over.
                needsClaim = recovering = true;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                // Entries read but not acknowledged stay in our pending list: read them again first.
                needsClaim = recovering = true;
                failures++;
                LogRedisUnavailable(stream, e.Message);
                await Task.Delay(Backoff.Delay(failures, busOptions.RetryInitialDelay, busOptions.RetryMaxDelay), time, worker.Stopping)
                    .ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    private async Task DeliverAsync(IDatabase database, string stream, StreamEntry[] entries, IDeliveryProcessor processor, CancellationToken cancellationToken)
    {
        var bodies = new List<ReadOnlyMemory<byte>>(entries.Length);
        var readable = new List<StreamEntry>(entries.Length);
        var ids = new RedisValue[entries.Length];
        for (var i = 0; i < entries.Length; i++)
        {
            ids[i] = entries[i].Id;
            if (entries[i][Redrive.TargetGroup] is { IsNull: false } target && target != identity.ConsumerGroup)
            {
                continue; // Re-driven for another group.
            }
            var body = entries[i]["ce"];
            if (body.IsNull)
            {
                await DeadLetterTrimmedAsync(database, stream, entries[i].Id);
                continue;
            }
            readable.Add(entries[i]);
            bodies.Add((byte[])body!);
        }

        var outcomes = await processor.ProcessAsync(bodies, cancellationToken);
        for (var i = 0; i < outcomes.Length; i++)
        {
            if (outcomes[i].DeadLetterReason is { } reason)
            {
                await DeadLetterAsync(database, stream, readable[i], reason);
            }
        }
        await database.StreamAcknowledgeAsync(stream, identity.ConsumerGroup, ids);
    }

    /// <summary>The entry was trimmed (MAXLEN) after it was delivered and before it was acknowledged: the event is gone, so its id in the dead letter records the loss where operators look.</summary>
    private async Task DeadLetterTrimmedAsync(IDatabase database, string stream, RedisValue id)
    {
        // Counted with the log, before the write: the event is lost even if its dead letter cannot be written (XAUTOCLAIM
        // has already dropped the id from the pending list, so nothing would report it again).
        LogTrimmedBeforeProcessed(stream, id.ToString());
        MessagingTelemetry.RecordDeadLettered(identity.ConsumerGroup);
        await DeadLetterAsync(database, stream, new StreamEntry(id, []), "The entry was trimmed from the stream (MAXLEN) before it was processed.");
    }

    /// <remarks>A trimmed entry has no fields left and XADD takes no null value: they are written empty (eng/dead-letters.sh keeps such a dead letter, having nothing to re-drive).</remarks>
    private Task DeadLetterAsync(IDatabase database, string stream, StreamEntry entry, string reason) =>
        database.StreamAddAsync(
            _names.DeadLetter(identity.ConsumerGroup),
            [
                new NameValueEntry("stream", stream),
                new NameValueEntry("entry", entry.Id),
                new NameValueEntry("type", entry["type"].IsNull ? RedisValue.EmptyString : entry["type"]),
                new NameValueEntry("ce", entry["ce"].IsNull ? RedisValue.EmptyString : entry["ce"]),
                new NameValueEntry("error", reason),
                new NameValueEntry("consumer", identity.InstanceName),
                new NameValueEntry("at", time.GetUtcNow().ToString("O")),
            ],
            maxLength: _options.DeadLetterMaxLength, useApproximateMaxLength: true);

    private async Task EnsureGroupAsync(IDatabase database, string stream)
    {
        try
        {
            // From the start of the stream: a service subscribing for the first time sees the retained history.
            await database.StreamCreateConsumerGroupAsync(stream, identity.ConsumerGroup, StreamPosition.Beginning, createStream: true);
        }
        catch (RedisServerException e) when (e.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
        {
            // Exists already.
        }
    }

    /// <summary>
    /// We hold the lease, so entries pending with any other consumer of the group are abandoned: take them all. Then
    /// forget the consumers left with nothing pending: each process is a new consumer name, so the group's consumer
    /// list would otherwise grow with every restart.
    /// </summary>
    private async Task ClaimAbandonedAsync(IDatabase database, string stream)
    {
        RedisValue start = "0-0";
        do
        {
            var claimed = await database.StreamAutoClaimIdsOnlyAsync(stream, identity.ConsumerGroup, identity.InstanceName, 0, start, 1000);
            // Entries trimmed while pending: Redis (7+) has dropped them from the pending list, so only the loss is left to record.
            foreach (var id in claimed.DeletedIds)
            {
                await DeadLetterTrimmedAsync(database, stream, id);
            }
            start = claimed.NextStartId;
        }
        while (start != "0-0");
        await database.ScriptEvaluateAsync(ForgetConsumersWithNothingPendingScript, [stream], [identity.ConsumerGroup, identity.InstanceName]);
    }

    private sealed record Partition(string Stream, string Lease);

    /// <summary>One partition's processing loop. Stopping ends it after the batch in hand; aborting also cancels that batch (unacknowledged, so redelivered to the next owner).</summary>
    private sealed class PartitionWorker
    {
        private readonly CancellationTokenSource _stopping;
        private readonly CancellationTokenSource _aborted;
        private readonly SemaphoreSlim _doorbell = new(0, 1);
        private ISubscriber? _subscriber;
        private volatile bool _waitingForDoorbell;

        private PartitionWorker(Partition partition, DateTimeOffset now, CancellationToken hostStopping)
        {
            Partition = partition;
            LastRenewed = now;
            _aborted = CancellationTokenSource.CreateLinkedTokenSource(hostStopping);
            _stopping = CancellationTokenSource.CreateLinkedTokenSource(_aborted.Token);
        }

        public Partition Partition { get; }
        private long _lastRenewedTicks;

        /// <summary>Written by the coordinator, read by the worker.</summary>
        public DateTimeOffset LastRenewed
        {
            get => new(Volatile.Read(ref _lastRenewedTicks), TimeSpan.Zero);
            set => Volatile.Write(ref _lastRenewedTicks, value.UtcTicks);
        }
        public Task Completion { get; private set; } = Task.CompletedTask;
        public CancellationToken Stopping => _stopping.Token;
        public CancellationToken Aborted => _aborted.Token;
        public bool WaitingForDoorbell => _waitingForDoorbell;

        public static async Task<PartitionWorker> StartAsync(
            RedisStreamsConsumer consumer, ISubscriber subscriber, Partition partition, IDeliveryProcessor processor, DateTimeOffset now, CancellationToken hostStopping)
        {
            var worker = new PartitionWorker(partition, now, hostStopping);
            worker._subscriber = subscriber;
            await worker._subscriber.SubscribeAsync(RedisStreamNames.Doorbell(partition.Stream), worker.Ring);
            worker.Completion = Task.Run(() => consumer.ProcessPartitionAsync(worker, processor), CancellationToken.None);
            return worker;
        }

        /// <summary>Ends when the doorbell rang since the last wait (a ring never gets lost between a read and this wait), at the timeout, or on stop.</summary>
        public async Task WaitForDoorbellAsync(TimeSpan timeout)
        {
            _waitingForDoorbell = true;
            try
            {
                await _doorbell.WaitAsync(timeout, Stopping);
            }
            catch (OperationCanceledException)
            {
            }
            finally
            {
                _waitingForDoorbell = false;
            }
        }

        private void Ring(RedisChannel channel, RedisValue message) => Ring();

        public void Ring()
        {
            if (_doorbell.CurrentCount == 0)
            {
                try
                {
                    _doorbell.Release();
                }
                catch (SemaphoreFullException)
                {
                    // Rung twice at once: one ring is enough.
                }
            }
        }

        public async Task StopAsync(bool immediately)
        {
            if (immediately)
            {
                await _aborted.CancelAsync();
            }
            else
            {
                await _stopping.CancelAsync();
            }
            await Completion.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await _subscriber!.UnsubscribeAsync(RedisStreamNames.Doorbell(Partition.Stream), Ring).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            _stopping.Dispose();
            _aborted.Dispose();
        }
    }

    [LoggerMessage(EventId = 3201, EventName = "RedisStreamsUnavailable", Level = LogLevel.Warning, Message = "Redis unavailable ({Where}): {Error}; retrying")]
    private partial void LogRedisUnavailable(string where, string error);

    [LoggerMessage(EventId = 3203, EventName = "RedisStreamsConsumerRestarting", Level = LogLevel.Error, Message = "Consumer of {Stream} failed; restarting it")]
    private partial void LogWorkerFailed(Exception? exception, string stream);

    [LoggerMessage(EventId = 3202, EventName = "RedisStreamsPartitionMoved", Level = LogLevel.Information, Message = "Partition {Stream} passed to another consumer")]
    private partial void LogPartitionLost(string stream);

    [LoggerMessage(EventId = 3204, EventName = "RedisStreamsEntryTrimmed", Level = LogLevel.Error, Message = "Entry {EntryId} of {Stream} was trimmed (MAXLEN) before it was processed; its event is lost and only its id goes to the dead letter")]
    private partial void LogTrimmedBeforeProcessed(string stream, string entryId);
}
