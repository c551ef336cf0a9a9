using StreamBets.Contracts;
using StreamBets.Pools.Data;
using StreamBets.Pools.Lifecycle;
using StreamBets.Pools.Management;
using StreamBets.Pools.Payouts;
using StreamBets.Pools.Stakes;

namespace StreamBets.Pools.Apis;

public sealed record ChannelView(string Provider, string ChannelId);

/// <summary>A channel with live pools: <c>channel</c> is "provider:channelId", as GET /api/pools/live?channel= takes it.</summary>
public sealed record LiveChannelView(string Channel, string Provider, string ChannelId, int LivePools, int OpenPools, DateTimeOffset? NextLockAt);

/// <summary>POST /api/pools. With a templateId, the template supplies what is left out; stakes default to the configuration's.</summary>
public sealed record CreatePoolRequest(
    ChannelView? Channel, string? TemplateId, string? Title, string[]? Outcomes, int? BettingWindowSeconds, long? MinStakeMinor, long? MaxStakeMinor);

public sealed record ResolvePoolRequest(Guid[]? WinningOutcomeIds);

/// <summary>
/// One outcome with the stakes on it so far and its odds: <c>returnPerUnit</c> is what one unit staked returns, stake
/// included. Before the pool is decided, what one unit staked now would return if this outcome won (null while nobody
/// has backed it); once resolved, what settlement pays per unit (null for a losing outcome; 1 for every backed outcome
/// when settlement refunds); null everywhere once cancelled.
/// </summary>
public sealed record OutcomeView(Guid Id, string Label, long StakedMinor, int BetCount, decimal? ReturnPerUnit);

/// <summary>
/// A pool as every endpoint answers it. <c>settlement</c> is null until the pool is resolved or cancelled, then
/// "pending" until Settlement has paid it out, then "settled" with <c>settledAt</c> (from PoolSettled).
/// </summary>
public sealed record PoolView(
    Guid Id,
    ChannelView Channel,
    Guid CreatedBy,
    string? TemplateId,
    string Title,
    string State,
    bool BettingOpen,
    IReadOnlyList<OutcomeView> Outcomes,
    long TotalStakedMinor,
    long MinStakeMinor,
    long MaxStakeMinor,
    int RakeBasisPoints,
    int BettingWindowSeconds,
    DateTimeOffset CreatedAt,
    DateTimeOffset? OpenedAt,
    DateTimeOffset? LocksAt,
    DateTimeOffset? LockedAt,
    DateTimeOffset? ClosedAt,
    IReadOnlyList<Guid> WinningOutcomeIds,
    string? CancellationReason,
    string? Settlement,
    DateTimeOffset? SettledAt,
    int Version);

internal static class PoolViews
{
    /// <summary>"pending" for a finished pool Settlement has not paid out yet, "settled" once it has, null before it finished.</summary>
    public static string? SettlementOf(StoredPool stored) =>
        stored.SettledAt is not null ? "settled"
        : stored.Pool.State is PoolState.Resolved or PoolState.Cancelled ? "pending"
        : null;

    public static async Task<PoolView> ToViewAsync(this StoredPool stored, PoolStakes stakes, TimeProvider time, CancellationToken cancellationToken) =>
        stored.ToView(await stakes.GetAsync(stored.Pool.Id, OutcomeIdsOf(stored), cancellationToken), time);

    /// <summary>The pools' views, their stakes read for all of them at once (<see cref="PoolStakes.GetManyAsync"/>).</summary>
    public static async Task<PoolView[]> ToViewsAsync(IReadOnlyList<StoredPool> pools, PoolStakes stakes, TimeProvider time, CancellationToken cancellationToken)
    {
        var counted = await stakes.GetManyAsync([.. pools.Select(p => (p.Pool.Id, OutcomeIdsOf(p)))], cancellationToken);
        return [.. pools.Select((p, i) => p.ToView(counted[i], time))];
    }

    private static IReadOnlyList<Guid> OutcomeIdsOf(StoredPool stored) => [.. stored.Pool.Outcomes.Select(o => o.Id)];

    private static PoolView ToView(this StoredPool stored, IReadOnlyList<OutcomeStakeRow> counted, TimeProvider time)
    {
        var pool = stored.Pool;
        var byOutcome = counted.ToDictionary(s => s.OutcomeId);
        var stakesInOrder = pool.Outcomes.Select(o => byOutcome.GetValueOrDefault(o.Id)).ToArray();
        OutcomeStake[] outcomeStakes = [.. pool.Outcomes.Select((o, i) => new OutcomeStake(o.Id, new Money(stakesInOrder[i]?.StakedMinor ?? 0)))];
        // Once the pool is decided, "if it won" no longer applies: a resolved pool shows what settlement pays, and a
        // cancelled one refunds every stake, so no outcome has a return.
        OutcomeOdds[]? odds = pool.State switch
        {
            PoolState.Resolved => LiveOdds.Resolved(outcomeStakes, [.. pool.WinningOutcomeIds], pool.RakeBasisPoints),
            PoolState.Cancelled => null,
            _ => LiveOdds.Calculate(outcomeStakes, pool.RakeBasisPoints),
        };

        return new PoolView(
            pool.Id,
            new ChannelView(stored.Channel.Provider, stored.Channel.ChannelId),
            stored.CreatedBy,
            stored.TemplateId,
            pool.Title,
            pool.State.ToString().ToLowerInvariant(),
            pool.State == PoolState.Open && time.GetUtcNow() < pool.LocksAt,
            [.. pool.Outcomes.Select((o, i) => new OutcomeView(o.Id, o.Label, stakesInOrder[i]?.StakedMinor ?? 0, stakesInOrder[i]?.BetCount ?? 0, odds?[i].ReturnPerUnit))],
            stakesInOrder.Sum(s => s?.StakedMinor ?? 0),
            pool.MinStake.MinorUnits,
            pool.MaxStake.MinorUnits,
            pool.RakeBasisPoints,
            (int)pool.BettingWindow.TotalSeconds,
            stored.CreatedAt,
            pool.OpenedAt,
            pool.LocksAt,
            pool.LockedAt,
            pool.ClosedAt,
            pool.WinningOutcomeIds,
            pool.CancellationReason?.ToString().ToLowerInvariant(),
            SettlementOf(stored),
            stored.SettledAt,
            stored.Version);
    }
}
