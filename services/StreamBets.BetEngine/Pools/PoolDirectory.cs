using System.Collections.Concurrent;
using Grpc.Core;
using Microsoft.Extensions.Options;
using StreamBets.BetEngine.Caching;
using Proto = StreamBets.Contracts.Pools;

namespace StreamBets.BetEngine.Pools;

/// <summary>Where the Bet Engine learns what a pool looks like now.</summary>
public interface IPoolDirectory
{
    /// <summary>The pool from a short-lived cache; null when no pool has this id.</summary>
    /// <exception cref="DependencyUnavailableException">Pools did not answer.</exception>
    Task<PoolSnapshot?> GetAsync(Guid poolId, CancellationToken cancellationToken);

    /// <summary>The pool as Pools says it is right now, bypassing the cache (for batch and recovery decisions).</summary>
    /// <param name="within">How long Pools may take (5 s by default).</param>
    /// <exception cref="DependencyUnavailableException">Pools did not answer in time.</exception>
    Task<PoolSnapshot?> GetFreshAsync(Guid poolId, CancellationToken cancellationToken, TimeSpan? within = null);

    /// <summary>The pool locked, resolved or was cancelled: answer that state from now on, whatever the cache holds.</summary>
    void MarkClosed(Guid poolId, PoolState state);

    /// <summary>Forget the cached snapshot (e.g. the pool just opened).</summary>
    void Invalidate(Guid poolId);
}

/// <summary>
/// Pools.GetPool behind a cache of a few seconds. Closing events (PoolLocked, PoolResolved, PoolCancelled) overlay the
/// cached state at once, because a closed pool never reopens; the lock time itself needs no event (see <see cref="Placement.BetRules"/>).
/// <para>
/// The overlay is there for the snapshots Pools gave before the event (a fetch in flight when it arrived, which the
/// cache then serves). Pools commits a closing before publishing it, so whatever it answers after the event says
/// closed: the overlay is kept only as long as a snapshot from before the event can still be served, and then dropped
/// (it used to be kept for the life of the process, one entry per pool ever closed).
/// </para>
/// </summary>
public sealed class GrpcPoolDirectory(Proto.Pools.PoolsClient pools, TimeProvider time, IOptions<BetEngineOptions> options) : IPoolDirectory
{
    /// <summary>The longest a call to Pools may take; <c>within</c> may only shorten it.</summary>
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(5);

    private readonly ExpiringCache<Guid, PoolSnapshot?> _cache = new(time);
    private readonly ConcurrentDictionary<Guid, ClosedPool> _closed = new();

    /// <summary>How long a closing overrides Pools' snapshots: a fetch in flight when the event arrived ends within a call
    /// timeout, and its snapshot is served for at most the cache time.</summary>
    private TimeSpan ClosedOverlayDuration => CallTimeout + options.Value.PoolCacheDuration;

    public async Task<PoolSnapshot?> GetAsync(Guid poolId, CancellationToken cancellationToken)
    {
        var snapshot = await _cache.GetOrFetchAsync(poolId, async id =>
        {
            var fetched = await FetchAsync(id, CancellationToken.None);
            // Unknown ids are remembered briefly too, so a client hammering a wrong id does not reach Pools every time.
            return (fetched, fetched is null ? TimeSpan.FromSeconds(1) : options.Value.PoolCacheDuration);
        }).WaitAsync(cancellationToken);
        return Overlay(snapshot);
    }

    public async Task<PoolSnapshot?> GetFreshAsync(Guid poolId, CancellationToken cancellationToken, TimeSpan? within = null) =>
        Overlay(await FetchAsync(poolId, cancellationToken, within));

    public void MarkClosed(Guid poolId, PoolState state)
    {
        var now = time.GetUtcNow();
        var until = now + ClosedOverlayDuration;
        // Locked may become resolved or cancelled, never the other way round.
        _closed.AddOrUpdate(poolId, new ClosedPool(state, until),
            (_, known) => new ClosedPool(known.State == PoolState.Locked ? state : known.State, until));
        _cache.Remove(poolId);

        // Closings are rare (one event per pool), so each sweeps out the overlays no snapshot needs any more.
        foreach (var (id, closed) in _closed)
        {
            if (closed.Until <= now)
            {
                _closed.TryRemove(new KeyValuePair<Guid, ClosedPool>(id, closed));
            }
        }
    }

    public void Invalidate(Guid poolId) => _cache.Remove(poolId);

    /// <summary>Pools' closed overlays still in force (tests).</summary>
    internal int ClosedOverlayCount => _closed.Count;

    private PoolSnapshot? Overlay(PoolSnapshot? snapshot) =>
        snapshot is not null && !snapshot.IsFinished && _closed.TryGetValue(snapshot.PoolId, out var closed)
            && closed.Until > time.GetUtcNow() && closed.State != snapshot.State
            ? snapshot with { State = closed.State }
            : snapshot;

    private async Task<PoolSnapshot?> FetchAsync(Guid poolId, CancellationToken cancellationToken, TimeSpan? within = null)
    {
        Proto.PoolSnapshot reply;
        try
        {
            reply = await pools.GetPoolAsync(new Proto.GetPoolRequest { PoolId = poolId.ToString(), OmitChannelOwner = true },
                deadline: DateTime.UtcNow + (within < CallTimeout ? within.Value : CallTimeout), cancellationToken: cancellationToken);
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.NotFound or StatusCode.InvalidArgument)
        {
            return null;
        }
        catch (RpcException e) when (e.StatusCode != StatusCode.Cancelled || !cancellationToken.IsCancellationRequested)
        {
            throw new DependencyUnavailableException("Pools", e);
        }

        return new PoolSnapshot(
            poolId,
            reply.State switch
            {
                Proto.PoolState.Open => PoolState.Open,
                Proto.PoolState.Locked => PoolState.Locked,
                Proto.PoolState.Resolved => PoolState.Resolved,
                Proto.PoolState.Cancelled => PoolState.Cancelled,
                _ => PoolState.Draft,
            },
            reply.Outcomes.Select(o => Guid.TryParse(o.OutcomeId, out var id) ? id : Guid.Empty).Where(id => id != Guid.Empty).ToHashSet(),
            reply.MinStakeMinor,
            reply.MaxStakeMinor,
            reply.LocksAt?.ToDateTimeOffset(),
            reply.Version,
            reply.LockedAt?.ToDateTimeOffset());
    }

    private sealed record ClosedPool(PoolState State, DateTimeOffset Until);
}
