using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using RestBetRelay = StreamBets.BetEngine.Apis.RestBetRelay;
using StreamBets.BetEngine.Placement;
using StreamBets.BetEngine.Settlement;
using StreamBets.Contracts.Bets;
using ProtoBetStatus = StreamBets.Contracts.Bets.BetStatus;
using Status = Google.Rpc.Status;

namespace StreamBets.BetEngine.Grpc;

/// <summary>
/// Bet placement for other services (see bets.proto). The same <see cref="BetPlacement"/> as REST; rejections are gRPC
/// errors carrying an ErrorInfo whose reason is the stable problem code. Also a pool's accepted bets for Settlement,
/// and the Gateway's stream of players' REST bets (<see cref="RestBetRelay"/>).
/// </summary>
public sealed class BetEngineGrpcService(BetPlacement placement, PoolBetsFeed poolBets, RestBetRelay restBets) : Contracts.Bets.BetEngine.BetEngineBase
{
    public const string ErrorDomain = "bets.streambets.dev";

    public override async Task<PlaceBetReply> PlaceBet(PlaceBetRequest request, ServerCallContext context)
    {
        var command = Parse(request);
        var result = await placement.PlaceAsync(command, context.CancellationToken);
        if (result.Rejection is { } rejection)
        {
            throw Error(rejection, result.Bet?.BetId);
        }

        var bet = result.Bet!;
        return new PlaceBetReply
        {
            Replayed = result.Replayed,
            Bet = new Bet
            {
                BetId = bet.BetId.ToString(),
                UserId = bet.UserId.ToString(),
                PoolId = bet.PoolId.ToString(),
                OutcomeId = bet.OutcomeId.ToString(),
                StakeMinor = bet.StakeMinor,
                Status = bet.Status == Placement.BetStatus.Accepted ? ProtoBetStatus.Accepted : ProtoBetStatus.Pending,
                PlacedAt = Timestamp.FromDateTimeOffset(bet.PlacedAt),
            },
        };
    }

    public override Task RelayRestBets(IAsyncStreamReader<RestBetBatch> requestStream, IServerStreamWriter<RestBetAnswers> responseStream, ServerCallContext context) =>
        restBets.RelayAsync(requestStream, responseStream, context.CancellationToken);

    public override async Task StreamPoolBets(StreamPoolBetsRequest request, IServerStreamWriter<PoolBetsChunk> responseStream, ServerCallContext context)
    {
        if (!Guid.TryParse(request.PoolId, out var poolId) || request.MaxBetsPerChunk is < 0 or > PoolBetsFeed.MaxBetsPerChunk)
        {
            throw Error(new BetRejection("invalid-request", $"pool_id must be a UUID and max_bets_per_chunk 0 to {PoolBetsFeed.MaxBetsPerChunk}."), null, Code.InvalidArgument);
        }

        var chunkSize = request.MaxBetsPerChunk == 0 ? PoolBetsFeed.MaxBetsPerChunk : request.MaxBetsPerChunk;
        PoolBetsAnswer answer;
        try
        {
            answer = await poolBets.WriteAsync(poolId, chunkSize, responseStream, context.CancellationToken);
        }
        catch (DependencyUnavailableException e)
        {
            throw Error(BetBatchPipeline.Unavailable(e.Dependency), null, Code.Unavailable);
        }

        switch (answer)
        {
            case PoolBetsAnswer.BetsPending:
                throw Error(new BetRejection(PoolBetsFeed.BetsPendingReason,
                    $"Pool {poolId} still has pending bets or refunds due (a batch in flight or awaiting recovery); ask again shortly."), null, Code.FailedPrecondition);
            case PoolBetsAnswer.PoolNotFinished:
                throw Error(new BetRejection(PoolBetsFeed.PoolNotFinishedReason,
                    $"Pools does not report pool {poolId} as resolved or cancelled, so its bets are not settled yet."), null, Code.FailedPrecondition);
        }
    }

    private static PlaceBetCommand Parse(PlaceBetRequest request)
    {
        var errors = new List<string>();
        var userId = ParseId(request.UserId, "user_id", errors);
        var poolId = ParseId(request.PoolId, "pool_id", errors);
        var outcomeId = ParseId(request.OutcomeId, "outcome_id", errors);
        Guid? sessionId = null;
        if (request.SessionId.Length > 0)
        {
            sessionId = ParseId(request.SessionId, "session_id", errors);
        }
        if (request.StakeMinor <= 0)
        {
            errors.Add("stake_minor must be positive");
        }
        if (!BetIdempotencyKey.IsWellFormed(request.IdempotencyKey))
        {
            errors.Add($"idempotency_key must be 1 to {BetIdempotencyKey.MaxLength} characters, not blank, with no control characters");
        }
        if (errors.Count > 0)
        {
            throw Error(new BetRejection("invalid-request", string.Join("; ", errors) + "."), null, Code.InvalidArgument);
        }
        return new PlaceBetCommand(userId, poolId, outcomeId, request.StakeMinor, request.IdempotencyKey, sessionId);
    }

    private static Guid ParseId(string text, string field, List<string> errors)
    {
        if (Guid.TryParse(text, out var id) && id != Guid.Empty)
        {
            return id;
        }
        errors.Add($"{field} must be a UUID");
        return Guid.Empty;
    }

    private static RpcException Error(BetRejection rejection, Guid? betId, Code? code = null)
    {
        var info = new ErrorInfo { Reason = rejection.Code, Domain = ErrorDomain };
        if (betId is { } id)
        {
            info.Metadata["bet_id"] = id.ToString();
        }
        return new Status
        {
            Code = (int)(code ?? (Code)BetProblems.GrpcStatusOf(rejection.Code)),
            Message = rejection.Detail,
            Details = { Any.Pack(info) },
        }.ToRpcException();
    }
}
