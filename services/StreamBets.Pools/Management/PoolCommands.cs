using System.Text.Json.Nodes;
using Npgsql;
using StreamBets.Contracts;
using StreamBets.Messaging;
using StreamBets.Pools.Configuration;
using StreamBets.Pools.Data;
using StreamBets.Pools.Documents;
using StreamBets.Pools.Lifecycle;
using Events = StreamBets.Contracts.IntegrationEvents;

namespace StreamBets.Pools.Management;

/// <summary>What a streamer asks for; a template fills what the request leaves out, the configuration fills stakes and rake.</summary>
public sealed record CreatePool(
    Channel? Channel, string? TemplateId, string? Title, IReadOnlyList<string>? Outcomes, int? BettingWindowSeconds, long? MinStakeMinor, long? MaxStakeMinor);

/// <summary>
/// Every change to a pool: load it, check in one transaction that the caller runs its channel (the channel's current
/// owner, or an admin), apply the domain transition, then save the row (checking its version) and write the events to
/// the outbox. A rule broken anywhere writes nothing. A concurrent save is retried on the fresh row, so two operators
/// acting at once get the domain's answer (e.g. "already locked"), never a corrupt pool.
/// </summary>
public sealed partial class PoolCommands(
    NpgsqlDataSource database,
    PoolStore store,
    IOutbox outbox,
    PoolsSettingsProvider settings,
    IDocumentStore documents,
    ChannelOwners channelOwners,
    AdminChanges adminChanges,
    TimeProvider time,
    ILogger<PoolCommands> logger)
{
    private const int MaxAttempts = 3;

    private delegate PoolError? Transition(StoredPool stored, DateTimeOffset now, List<PoolEvent> events);

    /// <summary>
    /// Opens a pool. With an Idempotency-Key, a retry of the request (the caller's key, the same request) answers the pool
    /// its first copy opened and opens none; the key with another request is refused; copies sent at once open one pool
    /// (a unique index on the caller and key, checked as the pool is inserted). A refusal stores nothing: a retry is
    /// judged afresh.
    /// </summary>
    public async Task<Result<CreatedPool>> CreateAsync(CreatePool request, Caller caller, string? idempotencyKey, CancellationToken cancellationToken)
    {
        var key = idempotencyKey is null ? null : PoolCreationKey.For(idempotencyKey, request);
        // First of all: a retry answers what its first copy did, whatever changed since (the settings, the template,
        // the channel now busy with that very pool).
        if (await EarlierAnswerAsync(caller, key, cancellationToken) is { } earlier)
        {
            return earlier;
        }

        PoolsSettings config;
        try
        {
            config = await settings.GetAsync(cancellationToken);
        }
        catch (PoolsSettingsUnavailableException e)
        {
            // The store is down, or its document invalid, before this replica read a valid one: no terms to open a pool
            // on. Not the caller's fault, and worth retrying: a 503, not a 500. (Any other failure is a bug: a 500.)
            LogNoSettings(logger, e);
            return ManagementErrors.NoSettings();
        }
        var errors = new Dictionary<string, string[]>();
        if (request.Channel is null)
        {
            errors["channel"] = ["The channel is required."];
        }
        else
        {
            foreach (var (field, messages) in request.Channel.Problems())
            {
                errors[field] = messages;
            }
        }

        PoolTemplate? template = null;
        if (request.TemplateId is { } templateId)
        {
            var storedTemplate = PoolTemplates.IsValidId(templateId) ? await documents.GetVersionedAsync<JsonNode>(PoolTemplates.Collection, templateId, cancellationToken) : null;
            if (storedTemplate is null)
            {
                // What the template would have supplied is missing too, but only the template is the caller's mistake.
                errors["templateId"] = [$"No template has id \"{templateId}\"."];
                return ManagementErrors.Invalid(errors);
            }
            // A document written around the API that is no template is not the streamer's mistake: a 409, never a 500.
            template = PoolTemplates.Read(templateId, storedTemplate.Document, logger);
            if (template is null)
            {
                return ManagementErrors.Unreadable(templateId);
            }
        }

        var definition = new PoolDefinition(
            request.Title ?? template?.Title ?? "",
            request.Outcomes ?? template?.Outcomes ?? [],
            TimeSpan.FromSeconds(request.BettingWindowSeconds ?? template?.BettingWindowSeconds ?? 0),
            new Money(request.MinStakeMinor ?? template?.MinStakeMinor ?? config.DefaultMinStakeMinor),
            new Money(request.MaxStakeMinor ?? template?.MaxStakeMinor ?? config.DefaultMaxStakeMinor),
            config.DefaultRakeBasisPoints,
            config.AbandonedAfter); // the pool's own term from now on: a later change of the setting leaves it be
        foreach (var (field, messages) in definition.Validate())
        {
            errors[ManagementErrors.RequestField(field)] = messages;
        }

        if (errors.Count > 0)
        {
            return ManagementErrors.Invalid(errors);
        }

        var channel = request.Channel!;
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // The channel's streamer runs its pools, so only they may open one there (the same check as every transition's).
        // Checked in this transaction, with the channel's row locked, so the channel cannot move to someone else before
        // the pool commits. An admin's pool names that owner too: Realtime makes the channel's owner its chat streamer,
        // never the admin.
        var owner = await channelOwners.OwnerOfAsync(transaction, channel, cancellationToken);
        if (!caller.RunsPoolsOf(owner))
        {
            return ManagementErrors.NotYourChannel(channel);
        }

        if (config.OneActivePoolPerChannel && await store.ChannelHasActivePoolAsync(transaction, channel, cancellationToken))
        {
            // The live pool may be this request's own, opened by a copy that committed after the lookup above.
            return await EarlierAnswerAsync(caller, key, cancellationToken) ?? ManagementErrors.ChannelBusy(channel);
        }

        // The clock is read once the channel's row is held, as a transition reads it after its locks: a create that
        // waited for a connection or for a link of the channel still gives bettors the whole window. The id is from the
        // same instant, so ids still sort as pools were opened.
        var now = Now();
        var pool = Pool.Create(Guid.CreateVersion7(now), definition).Value!;
        var opened = pool.Open(now).Value!;
        var stored = new StoredPool(pool, channel, caller.UserId, request.TemplateId, config.OneActivePoolPerChannel, now, version: 1);

        try
        {
            await store.InsertAsync(transaction, stored, key, cancellationToken);
        }
        catch (PostgresException e) when (PoolStore.IsOneActivePoolViolation(e) || PoolStore.IsIdempotencyKeyViolation(e))
        {
            // Another pool of this channel, or a copy of this request, committed after the checks above (the index
            // waited for it to commit, so the lookup sees it).
            await transaction.RollbackAsync(CancellationToken.None);
            return await EarlierAnswerAsync(caller, key, cancellationToken)
                ?? (PoolStore.IsOneActivePoolViolation(e) ? ManagementErrors.ChannelBusy(channel) : ManagementErrors.Conflict());
        }

        await outbox.AddRangeAsync(transaction,
        [
            new Events.PoolCreated(pool.Id, caller.UserId, channel.ToString(), pool.Title,
                [.. pool.Outcomes.Select(o => new Events.PoolOutcome(o.Id, o.Label))], "manual", now, ChannelOwnerId: owner),
            ToIntegrationEvent(opened, stored, []),
        ], cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        LogCreated(logger, pool.Id, channel.ToString(), caller.UserId);
        return new CreatedPool(stored, Replayed: false);
    }

    /// <summary>
    /// What a request answers when the caller used its key before: the pool the key opened, again, for the same request;
    /// <c>idempotency-key-reused</c> for another. Null when the key is new, or there is none.
    /// </summary>
    private async Task<Result<CreatedPool>?> EarlierAnswerAsync(Caller caller, PoolCreationKey? key, CancellationToken cancellationToken)
    {
        if (key is null || await store.FindByIdempotencyKeyAsync(caller.UserId, key.Key, cancellationToken) is not { } earlier)
        {
            return null;
        }

        if (!key.AskedFor(earlier.RequestHash))
        {
            return ManagementErrors.KeyReused();
        }

        LogReplayed(logger, earlier.PoolId, caller.UserId);
        return new CreatedPool((await store.FindAsync(earlier.PoolId, cancellationToken))!, Replayed: true);
    }

    /// <summary>Locks by hand, before the window ends (a late lock is dated at the window's end).</summary>
    public Task<Result<StoredPool>> LockAsync(Guid poolId, Caller caller, CancellationToken cancellationToken) =>
        TransitionAsync(poolId, caller, (stored, now, events) => Record(events, stored.Pool.Lock(now)), cancellationToken);

    public Task<Result<StoredPool>> ResolveAsync(Guid poolId, IReadOnlyCollection<Guid> winningOutcomeIds, Caller caller, CancellationToken cancellationToken) =>
        TransitionAsync(poolId, caller, (stored, now, events) =>
        {
            LockIfDue(stored, now, events); // a pool whose window ended is locked even if the sweeper has not got to it yet
            return Record(events, stored.Pool.Resolve(winningOutcomeIds, now));
        }, cancellationToken);

    public Task<Result<StoredPool>> CancelAsync(Guid poolId, Caller caller, CancellationToken cancellationToken) =>
        TransitionAsync(poolId, caller, (stored, now, events) =>
        {
            LockIfDue(stored, now, events);
            stored.CancelledByRole = caller.Role;
            return Record(events, stored.Pool.Cancel(now));
        }, cancellationToken);

    /// <summary>The sweeper's lock of a pool whose window ended; nothing happens if it is not due (any more).</summary>
    public Task<Result<StoredPool>> LockIfDueAsync(Guid poolId, CancellationToken cancellationToken) =>
        TransitionAsync(poolId, caller: null, (stored, now, events) =>
        {
            LockIfDue(stored, now, events);
            return null;
        }, cancellationToken);

    /// <summary>
    /// The sweeper's cancellation of a pool locked for longer than its own auto-cancel term without a result.
    /// <paramref name="termIfNone"/>, the configured setting, applies only to a pool stored before pools kept their own
    /// term; when it is null (the setting cannot be read) such a pool is left for a later sweep.
    /// </summary>
    public Task<Result<StoredPool>> CancelIfAbandonedAsync(Guid poolId, TimeSpan? termIfNone, CancellationToken cancellationToken) =>
        TransitionAsync(poolId, caller: null, (stored, now, events) =>
        {
            if (stored.Pool.CancelIfAbandoned(now, termIfNone) is { } cancelled)
            {
                events.Add(cancelled);
            }

            return null;
        }, cancellationToken);

    private async Task<Result<StoredPool>> TransitionAsync(Guid poolId, Caller? caller, Transition transition, CancellationToken cancellationToken)
    {
        for (var attempt = 1; attempt <= MaxAttempts; attempt++)
        {
            var stored = await store.FindAsync(poolId, cancellationToken);
            if (stored is null)
            {
                return ManagementErrors.NotFound(poolId);
            }

            await using var connection = await database.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            // Whoever the channel is linked to now runs the pool, as for opening one: a streamer the channel has left
            // (moved or unlinked) no longer locks, resolves or cancels the pools they opened there, and its new owner
            // does. Checked in the transaction that saves the change, with the channel's row locked as CreateAsync does:
            // a link or unlink waits for this change to commit, or this change waits for it and reads the new owner.
            if (caller is not null && !caller.RunsPoolsOf(await channelOwners.OwnerOfAsync(transaction, stored.Channel, cancellationToken)))
            {
                return ManagementErrors.NotOwner(stored.Channel);
            }

            var events = new List<PoolEvent>();
            if (transition(stored, Now(), events) is { } error)
            {
                return error;
            }

            if (events.Count == 0)
            {
                return stored;
            }

            if (!await store.UpdateAsync(transaction, stored, cancellationToken))
            {
                LogConcurrentChange(logger, poolId, attempt);
                continue;
            }

            // PoolLocked carries the final stakes, read in this transaction.
            var stakes = events.Any(e => e is Lifecycle.PoolLocked)
                ? await store.StakesAsync(poolId, transaction, cancellationToken)
                : [];
            await outbox.AddRangeAsync(transaction, [.. events.Select(e => ToIntegrationEvent(e, stored, stakes))], cancellationToken);
            if (caller is { IsAdmin: true })
            {
                // An admin deciding where a pool's money goes is on the record with the other admin changes; a
                // streamer's own pool is theirs to run (its events name the pool, the token the streamer).
                var (action, details) = AdminChangeOf(events[^1], stored);
                await adminChanges.RecordAsync(transaction, caller.UserId, caller.Name, action, poolId.ToString(), details, cancellationToken);
            }
            await transaction.CommitAsync(cancellationToken);
            foreach (var applied in events)
            {
                LogTransition(logger, poolId, applied.GetType().Name);
            }

            return stored;
        }

        return ManagementErrors.Conflict();
    }

    /// <summary>The clock at PostgreSQL's precision (microseconds), so what a response shows is what a later read shows.</summary>
    private DateTimeOffset Now()
    {
        var now = time.GetUtcNow();
        return now.AddTicks(-(now.Ticks % TimeSpan.TicksPerMicrosecond));
    }

    private static void LockIfDue(StoredPool stored, DateTimeOffset now, List<PoolEvent> events)
    {
        if (stored.Pool.LockIfDue(now) is { } locked)
        {
            events.Add(locked);
        }
    }

    private static PoolError? Record<T>(List<PoolEvent> events, Result<T> result) where T : PoolEvent
    {
        if (!result.IsSuccess)
        {
            return result.Error;
        }

        events.Add(result.Value);
        return null;
    }

    private static Contracts.IntegrationEvents.IIntegrationEvent ToIntegrationEvent(PoolEvent domainEvent, StoredPool stored, IReadOnlyList<OutcomeStakeRow> stakes) =>
        domainEvent switch
        {
            Lifecycle.PoolOpened opened => new Events.PoolOpened(opened.PoolId, opened.OccurredAt, opened.LocksAt),
            Lifecycle.PoolLocked locked => new Events.PoolLocked(
                locked.PoolId,
                stakes.Sum(s => s.StakedMinor),
                [.. stakes.Select(s => new Events.OutcomeStakes(s.OutcomeId, s.StakedMinor, s.BetCount))],
                locked.OccurredAt),
            Lifecycle.PoolResolved resolved => new Events.PoolResolved(resolved.PoolId, resolved.WinningOutcomeIds, resolved.OccurredAt),
            Lifecycle.PoolCancelled cancelled => new Events.PoolCancelled(cancelled.PoolId, CancellationReasonOf(cancelled, stored), cancelled.OccurredAt),
            _ => throw new ArgumentOutOfRangeException(nameof(domainEvent), domainEvent.GetType().Name, "No integration event for this pool event."),
        };

    private static (string Action, object Details) AdminChangeOf(PoolEvent applied, StoredPool stored) => applied switch
    {
        Lifecycle.PoolResolved resolved => (AdminChanges.PoolResolved, new { stored.Pool.Title, resolved.WinningOutcomeIds }),
        Lifecycle.PoolCancelled => (AdminChanges.PoolCancelled, new { stored.Pool.Title }),
        _ => (AdminChanges.PoolLocked, new { stored.Pool.Title }),
    };

    /// <summary>The reasons the PoolCancelled contract names: "streamer", "operator" or "resolution-timeout".</summary>
    private static string CancellationReasonOf(Lifecycle.PoolCancelled cancelled, StoredPool stored) =>
        cancelled.Reason == CancellationReason.Abandoned ? "resolution-timeout"
        : stored.CancelledByRole == "admin" ? "operator"
        : "streamer";

    [LoggerMessage(EventId = 2001, EventName = "PoolCreated", Level = LogLevel.Information, Message = "Pool {PoolId} opened on {Channel} by {UserId}")]
    private static partial void LogCreated(ILogger logger, Guid poolId, string channel, Guid userId);

    [LoggerMessage(EventId = 2005, EventName = "PoolCreateReplayed", Level = LogLevel.Information,
        Message = "Pool {PoolId} answered again to {UserId}: a retry of the request that opened it (same Idempotency-Key)")]
    private static partial void LogReplayed(ILogger logger, Guid poolId, Guid userId);

    [LoggerMessage(EventId = 2002, EventName = "PoolTransition", Level = LogLevel.Information, Message = "Pool {PoolId}: {Transition}")]
    private static partial void LogTransition(ILogger logger, Guid poolId, string transition);

    [LoggerMessage(EventId = 2003, EventName = "PoolChangedConcurrently", Level = LogLevel.Debug,
        Message = "Pool {PoolId} was saved by someone else meanwhile (attempt {Attempt}); applying again on the fresh row")]
    private static partial void LogConcurrentChange(ILogger logger, Guid poolId, int attempt);

    [LoggerMessage(EventId = 2004, EventName = "PoolRefusedWithoutSettings", Level = LogLevel.Error,
        Message = "A pool was refused (503): the pools configuration could not be read and this replica has no valid one to go on")]
    private static partial void LogNoSettings(ILogger logger, Exception exception);
}
