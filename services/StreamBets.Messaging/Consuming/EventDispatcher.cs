using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;
using StackExchange.Redis;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging.Envelope;
using StreamBets.Messaging.Transports;

namespace StreamBets.Messaging.Consuming;

/// <summary>
/// Applies delivered events to their handlers, the same way for every transport: the inbox row and the handlers' writes
/// commit in one transaction, so a redelivered event is recognised and skipped. A handler that keeps failing is retried
/// with backoff <see cref="EventBusOptions.MaxDeliveryAttempts"/> times, then its event goes to the dead letter.
/// </summary>
internal sealed partial class EventDispatcher(
    SubscriptionCatalog subscriptions,
    EventBusIdentity identity,
    EventBusOptions options,
    IServiceScopeFactory scopes,
    IServiceProvider services,
    TimeProvider time,
    ILogger<EventDispatcher> logger,
    MessagingDatabase? database = null) : IDeliveryProcessor, IAsyncDisposable
{
    private const string InboxBatchSql = """
        INSERT INTO inbox (consumer_group, event_id, event_type)
        SELECT $1, e.id, e.type FROM unnest($2::uuid[], $3::text[]) AS e(id, type)
        ON CONFLICT DO NOTHING
        RETURNING event_id
        """;

    /// <summary>Most events one group commit applies.</summary>
    private const int MaxGroupEvents = 2000;

    private readonly Channel<GroupRequest> _groups = Channel.CreateUnbounded<GroupRequest>(new UnboundedChannelOptions { SingleReader = true });
    private Task? _groupCommitter;

    /// <summary>Fault injection for tests: runs after a delivery's transaction committed and before it is acknowledged.</summary>
    internal Func<EventEnvelope, CancellationToken, Task>? AfterCommit { get; set; }

    public async Task<DeliveryOutcome[]> ProcessAsync(IReadOnlyList<ReadOnlyMemory<byte>> bodies, CancellationToken cancellationToken)
    {
        var outcomes = new DeliveryOutcome[bodies.Count];
        var work = new List<Delivery>(bodies.Count);
        for (var i = 0; i < bodies.Count; i++)
        {
            outcomes[i] = DeliveryOutcome.Done;
            try
            {
                var envelope = CloudEventEnvelope.Decode(bodies[i]);
                if (subscriptions.Find(envelope.Type) is { } subscription)
                {
                    work.Add(new Delivery(i, envelope, subscription, subscription.Deserialize(envelope.Data)));
                }
                // Other event types on a subscribed topic are not this service's business: acknowledged unread.
            }
            catch (Exception e) when (e is FormatException or JsonException or NotSupportedException)
            {
                // No retry can fix a message that cannot be read.
                outcomes[i] = DeliveryOutcome.DeadLetter($"Unreadable message: {e.Message}");
                MessagingTelemetry.RecordDeadLettered(identity.ConsumerGroup);
            }
        }

        if (work.Count > 0 && database is not null && await ApplyInGroupAsync(work, cancellationToken))
        {
            await RunAfterCommitAsync(work, cancellationToken);
            return outcomes;
        }
        foreach (var delivery in work)
        {
            outcomes[delivery.Index] = await ApplyWithRetriesAsync(delivery, cancellationToken);
        }
        return outcomes;
    }

    /// <summary>
    /// The fast path, a group commit: the batches that partition consumers hand in at the same moment are applied in
    /// one transaction with one inbox round trip, so a busy service commits once for many events instead of once per
    /// partition read. False when that failed for this batch (rolled back): the caller then applies its events one
    /// transaction each, where retries and dead-lettering are per event.
    /// </summary>
    private Task<bool> ApplyInGroupAsync(List<Delivery> work, CancellationToken cancellationToken)
    {
        var request = new GroupRequest(work, new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously), cancellationToken);
        if (!_groups.Writer.TryWrite(request))
        {
            return Task.FromResult(false); // Shutting down.
        }
        lock (_groups)
        {
            _groupCommitter ??= Task.Run(CommitGroupsAsync);
        }
        return request.Done.Task.WaitAsync(cancellationToken);
    }

    private async Task CommitGroupsAsync()
    {
        var reader = _groups.Reader;
        while (await reader.WaitToReadAsync())
        {
            var group = new List<GroupRequest>();
            var events = 0;
            while (events < MaxGroupEvents && reader.TryRead(out var request))
            {
                if (request.Cancellation.IsCancellationRequested)
                {
                    request.Done.TrySetCanceled(request.Cancellation);
                    continue;
                }
                group.Add(request);
                events += request.Work.Count;
            }
            if (group.Count == 0)
            {
                continue;
            }

            if (await TryApplyTogetherAsync([.. group.SelectMany(r => r.Work)]))
            {
                group.ForEach(r => r.Done.TrySetResult(true));
            }
            else if (group.Count == 1)
            {
                group[0].Done.TrySetResult(false);
            }
            else
            {
                // One batch spoiled the group: give every batch its own transaction so the others still commit together.
                foreach (var request in group)
                {
                    request.Done.TrySetResult(await TryApplyTogetherAsync(request.Work));
                }
            }
        }
    }

    private async Task<bool> TryApplyTogetherAsync(List<Delivery> work)
    {
        try
        {
            await using var connection = await database!.DataSource.OpenConnectionAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            var fresh = await RecordInInboxAsync(transaction, work, CancellationToken.None);
            var applied = fresh.ToHashSet();
            await using var scope = scopes.CreateAsyncScope();
            foreach (var delivery in work)
            {
                if (fresh.Remove(delivery.Envelope.Id)) // Remove: the same event twice in one batch is applied once.
                {
                    using var activity = StartConsumerActivity(delivery.Envelope, delivery.Subscription.Topic);
                    try
                    {
                        await InvokeHandlersAsync(scope.ServiceProvider, delivery, 1, transaction, CancellationToken.None);
                    }
                    catch (Exception e)
                    {
                        activity.RecordFailure(e);
                        throw;
                    }
                }
            }
            await transaction.CommitAsync();
            Record(work, applied);
            return true;
        }
        catch (Exception e)
        {
            LogBatchFallback(work.Count, e.Message);
            return false;
        }
    }

    public ValueTask DisposeAsync()
    {
        _groups.Writer.TryComplete();
        return ValueTask.CompletedTask;
    }

    private sealed record GroupRequest(List<Delivery> Work, TaskCompletionSource<bool> Done, CancellationToken Cancellation);

    private async Task<DeliveryOutcome> ApplyWithRetriesAsync(Delivery delivery, CancellationToken cancellationToken)
    {
        var attempt = 0;
        var outage = 0;
        while (true)
        {
            attempt++;
            TimeSpan retryIn;
            // One span per attempt, still current while its failure is logged, so the log (with the handler's stack
            // trace) carries the event's trace id. The backoff is waited after it ends: the span times the attempt.
            using (var activity = StartConsumerActivity(delivery.Envelope, delivery.Subscription.Topic))
            {
                try
                {
                    var applied = await ApplyOnceAsync(delivery, attempt, cancellationToken);
                    Record([delivery], applied ? [delivery.Envelope.Id] : []);
                    await RunAfterCommitAsync([delivery], cancellationToken);
                    return DeliveryOutcome.Done;
                }
                catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                {
                    activity.RecordFailure(e);
                    // A store that is down is not the event's fault: waiting it out does not count as an attempt, or a
                    // few seconds' outage would dead-letter every event it met (and their writes would never land).
                    if (await IsStoreUnavailableAsync(e, cancellationToken))
                    {
                        attempt--;
                        outage++;
                        retryIn = Backoff.Delay(outage, options.RetryInitialDelay, options.RetryMaxDelay);
                        LogStoreUnavailable(delivery.Envelope.Type, delivery.Envelope.Id, e.Message);
                    }
                    else if (attempt >= options.MaxDeliveryAttempts)
                    {
                        LogDeadLettered(e, delivery.Envelope.Type, delivery.Envelope.Id, attempt);
                        MessagingTelemetry.RecordDeadLettered(identity.ConsumerGroup);
                        return DeliveryOutcome.DeadLetter($"{e.GetType().FullName}: {e.Message} (after {attempt} attempts)");
                    }
                    else
                    {
                        retryIn = Backoff.Delay(attempt, options.RetryInitialDelay, options.RetryMaxDelay);
                        LogHandlerFailed(e, delivery.Envelope.Type, delivery.Envelope.Id, attempt, retryIn.TotalMilliseconds);
                    }
                }
            }
            await Task.Delay(retryIn, time, cancellationToken);
        }
    }

    /// <summary>
    /// Whether a handler failed because a store it writes is unavailable, not because of its event. A transient error
    /// counts as an outage only while the store does not answer a probe either (PostgreSQL <c>SELECT 1</c>, Redis
    /// <c>PING</c>); if it answers, the event is at fault (its statement always times out, its script call is too big)
    /// and counts like any failure, or it would block its partition for good. Redis answers that refuse every command
    /// for now (below) are outages without a probe: PING passes through most of those states, so it cannot confirm
    /// them, and they describe the server, not the command. A script's own error ("ERR ...") is the event's.
    /// </summary>
    private async Task<bool> IsStoreUnavailableAsync(Exception e, CancellationToken cancellationToken) => e switch
    {
        NpgsqlException { IsTransient: true } => !await DatabaseAnswersAsync(cancellationToken),
        RedisConnectionException or RedisTimeoutException => !await RedisAnswersAsync(cancellationToken),
        RedisServerException answer => IsRedisOutageAnswer(answer.Message),
        _ => false,
    };

    /// <summary>Redis's error prefixes for "not now, whatever the command": out of memory, a read-only replica, loading
    /// its data, its primary down, a failing disk refusing writes, a script of someone else's running, a cluster down or
    /// resharding, too few replicas to write. PING is answered out of memory, read-only, on a failing disk, with too few
    /// replicas and in a cluster down: a probe could not tell these outages from the event's fault.</summary>
    private static readonly string[] RedisOutageAnswers =
        ["OOM", "READONLY", "LOADING", "MASTERDOWN", "MISCONF", "BUSY", "CLUSTERDOWN", "TRYAGAIN", "NOREPLICAS"];

    private static bool IsRedisOutageAnswer(string message) =>
        RedisOutageAnswers.Any(prefix => message.StartsWith(prefix, StringComparison.Ordinal)
            && (message.Length == prefix.Length || message[prefix.Length] == ' '));

    private async Task<bool> DatabaseAnswersAsync(CancellationToken cancellationToken)
    {
        if (database is null)
        {
            return true; // The handler's own database, not one we can probe: count the failure rather than retry it for ever.
        }
        try
        {
            await using var probe = database.DataSource.CreateCommand("SELECT 1");
            await probe.ExecuteScalarAsync(cancellationToken);
            return true;
        }
        catch (NpgsqlException)
        {
            return false;
        }
    }

    private async Task<bool> RedisAnswersAsync(CancellationToken cancellationToken)
    {
        // The service's own Redis (its read models), resolved only now: resolving it connects. The bus's keyed one is
        // not what handlers write.
        if (services.GetService<IConnectionMultiplexer>() is not { } redis)
        {
            return true; // Not a Redis we can probe: count the failure rather than retry it for ever.
        }
        try
        {
            await redis.GetDatabase().PingAsync().WaitAsync(cancellationToken);
            return true;
        }
        catch (Exception e) when (e is RedisException or RedisTimeoutException)
        {
            return false;
        }
    }

    /// <returns>False when the inbox already had the event: a redelivery, skipped.</returns>
    private async Task<bool> ApplyOnceAsync(Delivery delivery, int attempt, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        if (database is null)
        {
            await InvokeHandlersAsync(scope.ServiceProvider, delivery, attempt, null, cancellationToken);
            return true;
        }

        await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if ((await RecordInInboxAsync(transaction, [delivery], cancellationToken)).Count == 0)
        {
            return false;
        }
        await InvokeHandlersAsync(scope.ServiceProvider, delivery, attempt, transaction, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    private async Task<HashSet<Guid>> RecordInInboxAsync(NpgsqlTransaction transaction, List<Delivery> work, CancellationToken cancellationToken)
    {
        await using var insert = new NpgsqlCommand(InboxBatchSql, transaction.Connection, transaction);
        insert.Parameters.AddWithValue(identity.ConsumerGroup);
        insert.Parameters.Add(new NpgsqlParameter { Value = work.Select(d => d.Envelope.Id).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Uuid });
        insert.Parameters.Add(new NpgsqlParameter { Value = work.Select(d => d.Envelope.Type).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        var fresh = new HashSet<Guid>();
        await using var reader = await insert.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            fresh.Add(reader.GetGuid(0));
        }
        return fresh;
    }

    private async Task InvokeHandlersAsync(IServiceProvider services, Delivery delivery, int attempt, NpgsqlTransaction? transaction, CancellationToken cancellationToken)
    {
        var envelope = delivery.Envelope;
        var context = new IntegrationEventContext(
            envelope.Id, envelope.Type, envelope.Source, envelope.Time, envelope.Subject, identity.ConsumerGroup, attempt, transaction);
        foreach (var handler in delivery.Subscription.Handlers)
        {
            await handler(services, delivery.Event, context, cancellationToken);
        }
    }

    /// <summary>The consumer span continues the producer's trace (parent) and links to the producer span, so one trace crosses the bus.</summary>
    private Activity? StartConsumerActivity(EventEnvelope envelope, string topic)
    {
        if (!MessagingTelemetry.Source.HasListeners())
        {
            return null;
        }
        ActivityContext parent = default;
        var hasProducer = envelope.TraceParent is not null && ActivityContext.TryParse(envelope.TraceParent, envelope.TraceState, out parent);
        var activity = MessagingTelemetry.Source.StartActivity(
            $"{topic} process", ActivityKind.Consumer, parent, links: hasProducer ? [new ActivityLink(parent)] : null);
        if (activity is not null)
        {
            MessagingTelemetry.SetMessagingTags(activity, "streambets", topic, envelope.Type, envelope.Id);
            activity.SetTag(MessagingTelemetry.ConsumerGroupTag, identity.ConsumerGroup);
        }
        return activity;
    }


    /// <param name="applied">The events the handlers applied; emptied here, so a second copy in the same batch
    /// counts as the duplicate it is.</param>
    private void Record(IEnumerable<Delivery> work, HashSet<Guid> applied)
    {
        var now = time.GetUtcNow();
        foreach (var delivery in work)
        {
            var series = MessagingTelemetry.ConsumerSeries(identity.ConsumerGroup, delivery.Subscription.Topic);
            if (applied.Remove(delivery.Envelope.Id))
            {
                MessagingTelemetry.Handled.Add(1, series);
                MessagingTelemetry.EndToEnd.Record((now - delivery.Envelope.Time).TotalMilliseconds, series);
            }
            else
            {
                MessagingTelemetry.Duplicates.Add(1, series);
            }
        }
    }

    private async Task RunAfterCommitAsync(IEnumerable<Delivery> work, CancellationToken cancellationToken)
    {
        if (AfterCommit is { } afterCommit)
        {
            foreach (var delivery in work)
            {
                await afterCommit(delivery.Envelope, cancellationToken);
            }
        }
    }

    private sealed record Delivery(int Index, EventEnvelope Envelope, SubscriptionCatalog.Subscription Subscription, IIntegrationEvent Event);

    [LoggerMessage(EventId = 3101, EventName = "HandlerRetrying", Level = LogLevel.Warning, Message = "Handler for {EventType} {EventId} failed on attempt {Attempt}; retrying in {DelayMs:F0} ms")]
    private partial void LogHandlerFailed(Exception exception, string eventType, Guid eventId, int attempt, double delayMs);

    [LoggerMessage(EventId = 3102, EventName = "HandlerDeadLettered", Level = LogLevel.Error, Message = "Handler for {EventType} {EventId} failed {Attempts} times; sending it to the dead letter")]
    private partial void LogDeadLettered(Exception exception, string eventType, Guid eventId, int attempts);

    [LoggerMessage(EventId = 3103, EventName = "HandlerStoreUnavailable", Level = LogLevel.Warning, Message = "A store is unavailable while handling {EventType} {EventId}: {Error}; retrying without counting an attempt")]
    private partial void LogStoreUnavailable(string eventType, Guid eventId, string error);

    [LoggerMessage(EventId = 3104, EventName = "BatchAppliedOneByOne", Level = LogLevel.Debug, Message = "Batch of {Count} events failed together ({Error}); applying them one by one")]
    private partial void LogBatchFallback(int count, string error);
}
