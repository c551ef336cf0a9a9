using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using StreamBets.Contracts;
using StreamBets.Contracts.Pools;
using StreamBets.Pools.Data;
using StreamBets.Pools.Lifecycle;
using StreamBets.Pools.Management;
using StreamBets.Pools.Payouts;
using Domain = StreamBets.Pools.Lifecycle;
using Proto = StreamBets.Contracts.Pools;

namespace StreamBets.Pools.Grpc;

/// <summary>
/// Pools for other services (see pools.proto): the pool as the BetEngine validates bets against it (and as Settlement
/// learns who runs it), and the payouts Settlement pays, streamed chunk by chunk through a <see cref="PayoutRun"/> in
/// constant memory.
/// </summary>
public sealed class PoolsGrpcService(PoolStore store, ChannelOwners channelOwners) : Proto.Pools.PoolsBase
{
    public const int MaxBetsPerChunk = 10_000;
    private const int GuidBytes = 16;

    public override async Task<PoolSnapshot> GetPool(GetPoolRequest request, ServerCallContext context)
    {
        var stored = await store.FindAsync(ParsePoolId(request.PoolId), context.CancellationToken)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"No pool has id {request.PoolId}."));
        var pool = stored.Pool;
        var snapshot = new PoolSnapshot
        {
            PoolId = pool.Id.ToString(),
            State = ToProto(pool.State),
            MinStakeMinor = pool.MinStake.MinorUnits,
            MaxStakeMinor = pool.MaxStake.MinorUnits,
            RakeBasisPoints = pool.RakeBasisPoints,
            Channel = stored.Channel.ToString(),
            CreatedBy = stored.CreatedBy.ToString(),
            Version = stored.Version,
        };
        if (!request.OmitChannelOwner)
        {
            // Who runs the pool now: the owner the management checks read, so Settlement shows its settlement to them.
            snapshot.ChannelOwnerId = await channelOwners.OwnerOfAsync(stored.Channel, context.CancellationToken) is { } owner ? owner.ToString() : "";
        }
        if (pool.LocksAt is { } locksAt)
        {
            snapshot.LocksAt = Timestamp.FromDateTimeOffset(locksAt);
        }
        if (pool.LockedAt is { } lockedAt)
        {
            snapshot.LockedAt = Timestamp.FromDateTimeOffset(lockedAt);
        }

        snapshot.Outcomes.AddRange(pool.Outcomes.Select(o => new Proto.PoolOutcome { OutcomeId = o.Id.ToString(), Label = o.Label }));
        snapshot.WinningOutcomeIds.AddRange(pool.WinningOutcomeIds.Select(id => id.ToString()));
        return snapshot;
    }

    public override async Task CalculatePayouts(
        IAsyncStreamReader<CalculatePayoutsRequest> requestStream, IServerStreamWriter<CalculatePayoutsResponse> responseStream, ServerCallContext context)
    {
        var cancellationToken = context.CancellationToken;
        if (!await requestStream.MoveNext(cancellationToken) || requestStream.Current.ItemCase != CalculatePayoutsRequest.ItemOneofCase.Start)
        {
            throw Invalid("The first message must be `start`.");
        }

        var start = requestStream.Current.Start;
        var poolId = ParsePoolId(start.PoolId);
        var stored = await store.FindAsync(poolId, cancellationToken)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"No pool has id {start.PoolId}."));
        var declared = start.Outcomes.Select(o => new OutcomeTotal(ParseId(o.OutcomeId, "outcome_id"), new Money(o.StakeMinor), o.BetCount)).ToArray();
        var begun = stored.Pool.BeginPayouts(declared);
        if (!begun.IsSuccess)
        {
            throw ToRpcException(begun.Error);
        }

        var run = begun.Value;
        while (await requestStream.MoveNext(cancellationToken))
        {
            if (requestStream.Current.ItemCase != CalculatePayoutsRequest.ItemOneofCase.Bets)
            {
                throw Invalid("Only `bets` may follow `start`.");
            }

            await responseStream.WriteAsync(new CalculatePayoutsResponse { Payouts = Settle(run, requestStream.Current.Bets) }, cancellationToken);
        }

        var completed = run.Complete();
        if (!completed.IsSuccess)
        {
            throw ToRpcException(completed.Error);
        }

        var summary = completed.Value;
        var message = new Proto.PayoutSummary
        {
            PoolId = poolId.ToString(),
            Basis = ToProto(summary.Basis),
            RakeBasisPoints = stored.Pool.RakeBasisPoints,
            TotalMinor = summary.Total.MinorUnits,
            PaidMinor = summary.Paid.MinorUnits,
            RakeMinor = summary.Rake.MinorUnits,
            BreakageMinor = summary.Breakage.MinorUnits,
            BetCount = summary.BetCount,
            WinningBets = summary.WinningBets,
            RefundedBets = summary.RefundedBets,
        };
        message.WinningOutcomeIds.AddRange(stored.Pool.WinningOutcomeIds.Select(id => id.ToString()));
        await responseStream.WriteAsync(new CalculatePayoutsResponse { Summary = message }, cancellationToken);
    }

    public const int MaxUnsettledPoolsPerCall = 1_000;

    public override async Task<ListUnsettledPoolsResponse> ListUnsettledPools(ListUnsettledPoolsRequest request, ServerCallContext context)
    {
        if (request.FinishedBefore is null)
        {
            throw Invalid("finished_before is required.");
        }
        if (request.Limit is < 1 or > MaxUnsettledPoolsPerCall)
        {
            throw Invalid($"limit {request.Limit} is outside 1..{MaxUnsettledPoolsPerCall}.");
        }
        (DateTimeOffset, Guid)? after = (request.AfterClosedAt, request.AfterPoolId) switch
        {
            (null, "") => null,
            ({ } closedAt, { Length: > 0 } poolId) => (closedAt.ToDateTimeOffset(), ParseId(poolId, "after_pool_id")),
            _ => throw Invalid("after_closed_at and after_pool_id go together."),
        };

        var pools = await store.UnsettledAsync(request.FinishedBefore.ToDateTimeOffset(), after, request.Limit, context.CancellationToken);
        var response = new ListUnsettledPoolsResponse();
        response.Pools.AddRange(pools.Select(p => new Proto.UnsettledPool
        {
            PoolId = p.Id.ToString(),
            State = ToProto(p.State),
            ClosedAt = Timestamp.FromDateTimeOffset(p.ClosedAt),
        }));
        return response;
    }

    private static PayoutChunk Settle(PayoutRun run, BetChunk chunk)
    {
        var count = chunk.StakeMinor.Count;
        if (chunk.OutcomeIndex.Count != count || chunk.BetIds.Length != count * GuidBytes)
        {
            throw Invalid($"Chunk {chunk.Sequence}: {count} stakes, {chunk.OutcomeIndex.Count} outcome indexes and {chunk.BetIds.Length} id bytes do not describe the same bets.");
        }

        if (count > MaxBetsPerChunk)
        {
            throw Invalid($"Chunk {chunk.Sequence} holds {count} bets; the limit is {MaxBetsPerChunk}.");
        }

        var payouts = new PayoutChunk { Sequence = chunk.Sequence };
        for (var i = 0; i < count; i++)
        {
            var outcomeIndex = chunk.OutcomeIndex[i];
            var stake = chunk.StakeMinor[i];
            if (outcomeIndex >= run.OutcomeCount || stake <= 0)
            {
                var betId = new Guid(chunk.BetIds.Span.Slice(i * GuidBytes, GuidBytes), bigEndian: true);
                throw Invalid($"Bet {betId} (chunk {chunk.Sequence}, position {i}) has outcome index {outcomeIndex} of {run.OutcomeCount} and stake {stake}; a stake is at least 1.");
            }

            if (run.PastDeclaration((int)outcomeIndex, new Money(stake)) is { } past)
            {
                throw ToRpcException(past); // before its chunk's payouts go out: callers pay each chunk as it comes
            }

            var (payout, kind) = run.Settle((int)outcomeIndex, new Money(stake));
            payouts.PayoutMinor.Add(payout.MinorUnits);
            payouts.Kind.Add(ToProto(kind));
        }

        return payouts;
    }

    private static Guid ParsePoolId(string text) => ParseId(text, "pool_id");

    private static Guid ParseId(string text, string field) =>
        Guid.TryParse(text, out var id) ? id : throw Invalid($"{field} \"{text}\" is not a UUID.");

    private static RpcException Invalid(string detail) => new(new Status(StatusCode.InvalidArgument, detail));

    private static RpcException ToRpcException(PoolError error) => new(new Status(
        error.Code == PoolErrorCodes.InvalidTransition ? StatusCode.FailedPrecondition : StatusCode.InvalidArgument,
        $"{error.Code}: {error.Detail}"));

    private static Proto.PoolState ToProto(Domain.PoolState state) => state switch
    {
        Domain.PoolState.Draft => Proto.PoolState.Draft,
        Domain.PoolState.Open => Proto.PoolState.Open,
        Domain.PoolState.Locked => Proto.PoolState.Locked,
        Domain.PoolState.Resolved => Proto.PoolState.Resolved,
        Domain.PoolState.Cancelled => Proto.PoolState.Cancelled,
        _ => Proto.PoolState.Unspecified,
    };

    private static Proto.SettlementKind ToProto(Payouts.SettlementKind kind) => kind switch
    {
        Payouts.SettlementKind.Win => Proto.SettlementKind.Win,
        Payouts.SettlementKind.Loss => Proto.SettlementKind.Loss,
        _ => Proto.SettlementKind.Refund,
    };

    private static Proto.SettlementBasis ToProto(Payouts.SettlementBasis basis) => basis switch
    {
        Payouts.SettlementBasis.Parimutuel => Proto.SettlementBasis.Parimutuel,
        Payouts.SettlementBasis.NoStakeOnWinner => Proto.SettlementBasis.NoStakeOnWinner,
        Payouts.SettlementBasis.NoStakeOnLosers => Proto.SettlementBasis.NoStakeOnLosers,
        _ => Proto.SettlementBasis.Cancelled,
    };
}
