using StreamBets.Contracts;
using StreamBets.Pools.Payouts;

namespace StreamBets.Pools.Lifecycle;

/// <summary>
/// A pool and the rules of its lifecycle. Every transition returns the event it caused, or the rule it broke.
/// Methods take the current instant from the caller's injected <see cref="TimeProvider"/>, so nothing here reads
/// the clock or sleeps. Deadlines are not timers: a sweeper calls <see cref="LockIfDue"/> and
/// <see cref="CancelIfAbandoned"/>, and the service calls <see cref="LockIfDue"/> before acting on a pool.
/// </summary>
public sealed class Pool
{
    /// <summary>
    /// A locked pool nobody resolves is cancelled and refunded after this long, as Twitch Predictions do: the term a pool
    /// takes when its definition names none (the operators' <c>autoCancelAfterHours</c> defaults to it).
    /// </summary>
    public static readonly TimeSpan AbandonedAfter = TimeSpan.FromHours(24);

    private Pool(Guid id, PoolDefinition definition)
    {
        Id = id;
        Title = PoolDefinition.StoredForm(definition.Title);
        Outcomes = [.. definition.Outcomes.Select(label => new PoolOutcome(Guid.CreateVersion7(), PoolDefinition.StoredForm(label)))];
        BettingWindow = definition.BettingWindow;
        MinStake = definition.MinStake;
        MaxStake = definition.MaxStake;
        RakeBasisPoints = definition.RakeBasisPoints;
        AutoCancelAfter = definition.AutoCancelAfter ?? AbandonedAfter;
    }

    private Pool()
    {
        Title = "";
        Outcomes = [];
    }

    public Guid Id { get; private set; }
    public string Title { get; private set; }
    public IReadOnlyList<PoolOutcome> Outcomes { get; private set; }
    public TimeSpan BettingWindow { get; private set; }
    public Money MinStake { get; private set; }
    public Money MaxStake { get; private set; }
    public int RakeBasisPoints { get; private set; }

    /// <summary>
    /// How long it may stay locked without a result before it cancels itself: fixed when it is created, like the rake,
    /// so an operator shortening the setting never cancels pools already waiting for their result. Null only for pools
    /// stored before pools kept their own term; those follow the setting (see <see cref="CancelIfAbandoned(DateTimeOffset, TimeSpan?)"/>).
    /// </summary>
    public TimeSpan? AutoCancelAfter { get; private set; }

    /// <summary>
    /// When a locked pool cancels itself: its own term after the lock was recorded. A late lock (Pools was down past the
    /// window's end) is dated at the window's end for the bets, but nobody could resolve the pool before it was recorded,
    /// so the term runs from then. Null until it is locked, or when it has no term of its own; it stays set once the pool
    /// is resolved or cancelled (the sweeper reads it only for locked pools).
    /// </summary>
    public DateTimeOffset? AbandonsAt { get; private set; }

    public PoolState State { get; private set; } = PoolState.Draft;
    public DateTimeOffset? OpenedAt { get; private set; }
    public DateTimeOffset? LocksAt { get; private set; }
    public DateTimeOffset? LockedAt { get; private set; }

    /// <summary>When it was resolved or cancelled.</summary>
    public DateTimeOffset? ClosedAt { get; private set; }

    public IReadOnlyList<Guid> WinningOutcomeIds { get; private set; } = [];
    public CancellationReason? CancellationReason { get; private set; }

    /// <summary>A new pool in <see cref="PoolState.Draft"/>, or <c>invalid-pool</c> with every broken rule.</summary>
    public static Result<Pool> Create(Guid id, PoolDefinition definition)
    {
        var errors = definition.Validate();
        return errors.Count == 0 ? new Pool(id, definition) : PoolError.InvalidPool(errors);
    }

    /// <summary>
    /// A stored pool as it was saved. No rule is checked: the store only holds pools that these methods produced.
    /// </summary>
    public static Pool Rehydrate(PoolMemento memento) => new()
    {
        Id = memento.Id,
        Title = memento.Title,
        Outcomes = memento.Outcomes,
        BettingWindow = memento.BettingWindow,
        MinStake = memento.MinStake,
        MaxStake = memento.MaxStake,
        RakeBasisPoints = memento.RakeBasisPoints,
        AutoCancelAfter = memento.AutoCancelAfter,
        AbandonsAt = memento.AbandonsAt,
        State = memento.State,
        OpenedAt = memento.OpenedAt,
        LocksAt = memento.LocksAt,
        LockedAt = memento.LockedAt,
        ClosedAt = memento.ClosedAt,
        WinningOutcomeIds = memento.WinningOutcomeIds,
        CancellationReason = memento.CancellationReason,
    };

    /// <summary>Everything <see cref="Rehydrate"/> needs, for a store to save and load.</summary>
    public PoolMemento ToMemento() => new(
        Id, Title, Outcomes, BettingWindow, MinStake, MaxStake, RakeBasisPoints,
        State, OpenedAt, LocksAt, LockedAt, ClosedAt, WinningOutcomeIds, CancellationReason, AutoCancelAfter, AbandonsAt);

    public Result<PoolOpened> Open(DateTimeOffset now)
    {
        if (State != PoolState.Draft)
        {
            return PoolError.InvalidTransition(State, "opened");
        }

        State = PoolState.Open;
        OpenedAt = now;
        LocksAt = now + BettingWindow;
        return new PoolOpened(Id, now, LocksAt.Value);
    }

    /// <summary>Locks by hand. Past the window's end, the lock is dated at the window's end, when betting actually closed.</summary>
    public Result<PoolLocked> Lock(DateTimeOffset now) =>
        State == PoolState.Open ? LockAt(now, LockReason.Manual) : PoolError.NotOpen(State);

    /// <summary>Locks an open pool whose window has ended; null when there is nothing to do.</summary>
    public PoolLocked? LockIfDue(DateTimeOffset now) =>
        State == PoolState.Open && now >= LocksAt ? LockAt(now, LockReason.WindowEnded) : null;

    /// <summary>
    /// Resolves a locked pool with one winning outcome, or several for a dead heat (see <see cref="ParimutuelCalculator.Settle"/>).
    /// </summary>
    public Result<PoolResolved> Resolve(IReadOnlyCollection<Guid> winningOutcomeIds, DateTimeOffset now)
    {
        if (State != PoolState.Locked)
        {
            return PoolError.InvalidTransition(State, "resolved");
        }

        if (winningOutcomeIds.Count == 0)
        {
            return PoolError.WinnerRequired();
        }

        foreach (var winner in winningOutcomeIds)
        {
            if (!HasOutcome(winner))
            {
                return PoolError.UnknownOutcome(winner);
            }
        }

        State = PoolState.Resolved;
        ClosedAt = now;
        WinningOutcomeIds = [.. winningOutcomeIds.Distinct()];
        return new PoolResolved(Id, now, WinningOutcomeIds);
    }

    /// <summary>Cancels an open or locked pool; every stake is refunded.</summary>
    public Result<PoolCancelled> Cancel(DateTimeOffset now) =>
        State is PoolState.Open or PoolState.Locked
            ? CancelAt(now, Lifecycle.CancellationReason.Manual)
            : PoolError.InvalidTransition(State, "cancelled");

    /// <summary>Cancels a pool locked for its <see cref="AutoCancelAfter"/> without a resolution; null when there is nothing to do.</summary>
    public PoolCancelled? CancelIfAbandoned(DateTimeOffset now) => CancelIfAbandoned(now, AbandonedAfter);

    /// <summary>
    /// As <see cref="CancelIfAbandoned(DateTimeOffset)"/>, at <see cref="AbandonsAt"/>. A pool locked without that deadline
    /// (stored before pools kept it, or locked by an older replica) counts its term from its lock time, and
    /// <paramref name="termIfNone"/> (the operators' current setting) applies only to one with no term of its own; with
    /// neither, the pool waits.
    /// </summary>
    public PoolCancelled? CancelIfAbandoned(DateTimeOffset now, TimeSpan? termIfNone) =>
        State == PoolState.Locked && (AbandonsAt ?? LockedAt + (AutoCancelAfter ?? termIfNone)) is { } deadline && now >= deadline
            ? CancelAt(now, Lifecycle.CancellationReason.Abandoned)
            : null;

    /// <summary>
    /// Why a bet must be refused, or null to accept it. <paramref name="backedOutcomeId"/> is the outcome the user
    /// already backed in this pool, if any: they may add to it but never back a second one. Stake limits apply per bet.
    /// The clock is checked as well as the state, so a bet at or after the lock time is refused before any sweeper locks the pool.
    /// </summary>
    public PoolError? CheckBet(Guid? backedOutcomeId, Guid outcomeId, Money stake, DateTimeOffset now)
    {
        if (State == PoolState.Locked || (State == PoolState.Open && now >= LocksAt))
        {
            return PoolError.Locked();
        }

        if (State != PoolState.Open)
        {
            return PoolError.NotOpen(State);
        }

        if (!HasOutcome(outcomeId))
        {
            return PoolError.UnknownOutcome(outcomeId);
        }

        if (backedOutcomeId is { } backed && backed != outcomeId)
        {
            return PoolError.SecondOutcome();
        }

        return stake < MinStake || stake > MaxStake ? PoolError.StakeOutOfRange(MinStake, MaxStake) : null;
    }

    /// <summary>What settlement moves for this pool's bets: payouts once resolved, full refunds once cancelled.</summary>
    public Result<SettlementPlan> Settle(ReadOnlySpan<PoolBet> bets) => State switch
    {
        PoolState.Resolved => ParimutuelCalculator.Settle(bets, [.. WinningOutcomeIds], RakeBasisPoints),
        PoolState.Cancelled => ParimutuelCalculator.Refund(bets),
        _ => PoolError.InvalidTransition(State, "settled"),
    };

    /// <summary>
    /// Starts settling bets that arrive in pieces (see <see cref="PayoutRun"/>), given the stake and bet count per outcome
    /// of all the bets that will follow. Each declared outcome must be one of this pool's.
    /// </summary>
    public Result<PayoutRun> BeginPayouts(IReadOnlyList<OutcomeTotal> declared)
    {
        foreach (var outcome in declared)
        {
            if (!HasOutcome(outcome.OutcomeId))
            {
                return PoolError.UnknownOutcome(outcome.OutcomeId);
            }
        }

        return State switch
        {
            PoolState.Resolved => PayoutRun.Start(declared, [.. WinningOutcomeIds], RakeBasisPoints),
            PoolState.Cancelled => PayoutRun.StartRefund(declared),
            _ => PoolError.InvalidTransition(State, "settled"),
        };
    }

    private bool HasOutcome(Guid outcomeId)
    {
        foreach (var outcome in Outcomes)
        {
            if (outcome.Id == outcomeId)
            {
                return true;
            }
        }

        return false;
    }

    private PoolLocked LockAt(DateTimeOffset now, LockReason reason)
    {
        var lockedAt = LocksAt is { } due && due < now ? due : now;
        State = PoolState.Locked;
        LockedAt = lockedAt;
        AbandonsAt = now + AutoCancelAfter; // from when it is recorded, not lockedAt: see AbandonsAt
        return new PoolLocked(Id, lockedAt, reason);
    }

    // Dated now rather than at the deadline: until this call a resolution could still have arrived.
    private PoolCancelled CancelAt(DateTimeOffset now, CancellationReason reason)
    {
        State = PoolState.Cancelled;
        ClosedAt = now;
        CancellationReason = reason;
        return new PoolCancelled(Id, now, reason);
    }
}

/// <summary>A pool's stored form: every field <see cref="Pool"/> keeps, and nothing else.</summary>
public sealed record PoolMemento(
    Guid Id,
    string Title,
    IReadOnlyList<PoolOutcome> Outcomes,
    TimeSpan BettingWindow,
    Money MinStake,
    Money MaxStake,
    int RakeBasisPoints,
    PoolState State,
    DateTimeOffset? OpenedAt,
    DateTimeOffset? LocksAt,
    DateTimeOffset? LockedAt,
    DateTimeOffset? ClosedAt,
    IReadOnlyList<Guid> WinningOutcomeIds,
    CancellationReason? CancellationReason,
    TimeSpan? AutoCancelAfter,
    DateTimeOffset? AbandonsAt);
