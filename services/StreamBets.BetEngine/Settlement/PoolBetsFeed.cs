using System.Data;
using Google.Protobuf;
using Grpc.Core;
using Npgsql;
using StreamBets.BetEngine.Data;
using StreamBets.BetEngine.Pools;
using StreamBets.Contracts.Bets;
using static StreamBets.BetEngine.Data.BetStore;

namespace StreamBets.BetEngine.Settlement;

/// <summary>What <see cref="PoolBetsFeed.WriteAsync"/> did.</summary>
public enum PoolBetsAnswer
{
    /// <summary>The totals and every accepted bet were written.</summary>
    Written,

    /// <summary>Nothing written: Pools does not say the pool is resolved or cancelled, so it is not settled yet.</summary>
    PoolNotFinished,

    /// <summary>Nothing written: a bet of the pool is still pending or its refund is due; ask again shortly.</summary>
    BetsPending,
}

/// <summary>
/// A pool's accepted bets for Settlement (bets.proto StreamPoolBets): the totals per outcome, then the bets in
/// bet_id order in columnar chunks, all read from ONE repeatable-read snapshot so the totals and the bets agree
/// exactly (Pools checks that they do). Memory stays at one chunk whatever the pool's size: rows stream from the
/// server and each chunk is written (and flow-controlled by HTTP/2) before the next is read.
/// <para>
/// Every stake that reaches the pool's escrow must be either in the snapshot Settlement pays from or refunded, never
/// both and never neither. So before the snapshot the pool's gate is closed (<see cref="BetStore.CloseGateAsync"/>):
/// from then on no bet of the pool is written, and a bet already written is in the snapshot, pending or decided.
/// While any is pending, or rejected with its stake not yet given back, the answer is <see cref="PoolBetsAnswer.BetsPending"/>.
/// </para>
/// </summary>
public sealed class PoolBetsFeed(NpgsqlDataSource db, BetStore store, IPoolDirectory pools, TimeProvider time)
{
    public const int MaxBetsPerChunk = 10_000;
    public const string BetsPendingReason = "bets-pending";
    public const string PoolNotFinishedReason = "pool-not-finished";
    private const int GuidBytes = 16;

    /// <summary>Writes the pool's totals and bets; or writes nothing and says why.</summary>
    /// <exception cref="DependencyUnavailableException">Pools did not answer.</exception>
    public async Task<PoolBetsAnswer> WriteAsync(Guid poolId, int maxBetsPerChunk, IAsyncStreamWriter<PoolBetsChunk> writer, CancellationToken cancellationToken)
    {
        // Closing the gate is final (no bet of the pool is taken any more), so only a pool Pools calls finished gets it.
        var pool = await pools.GetFreshAsync(poolId, cancellationToken);
        if (pool is not { IsFinished: true })
        {
            return PoolBetsAnswer.PoolNotFinished;
        }
        await store.CloseGateAsync(poolId, PoolFinishReasons.SettlementSnapshot, time.GetUtcNow(), cancellationToken);

        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);

        // The snapshot starts with the first statement, after the gate closed, so the check below and both reads see the
        // same bets, and every bet whose stake may still move into the escrow is among them. A pending bet's fate is
        // unknown; a refund still due is money in the escrow that is nobody's stake any more.
        await using (var unsettled = new NpgsqlCommand("""
            SELECT EXISTS (SELECT 1 FROM pending_batches WHERE pool_id = $1)
                OR EXISTS (SELECT 1 FROM bets WHERE refund_status = 'due' AND pool_id = $1)
            """, connection, transaction))
        {
            unsettled.Parameters.Add(Value(poolId));
            if ((bool)(await unsettled.ExecuteScalarAsync(cancellationToken))!)
            {
                return PoolBetsAnswer.BetsPending;
            }
        }

        var totals = new PoolBetTotals { PoolId = poolId.ToString() };
        var indexOf = new Dictionary<Guid, uint>();
        await using (var command = new NpgsqlCommand(
            "SELECT outcome_id, sum(stake_minor)::bigint, count(*) FROM bets WHERE pool_id = $1 AND status = 'accepted' GROUP BY outcome_id ORDER BY outcome_id",
            connection, transaction))
        {
            command.Parameters.Add(Value(poolId));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var outcome = new PoolOutcomeTotal { OutcomeId = reader.GetGuid(0).ToString(), StakeMinor = reader.GetInt64(1), BetCount = reader.GetInt64(2) };
                indexOf[reader.GetGuid(0)] = (uint)totals.Outcomes.Count;
                totals.Outcomes.Add(outcome);
                totals.BetCount += outcome.BetCount;
                totals.TotalStakeMinor += outcome.StakeMinor;
            }
        }
        await writer.WriteAsync(new PoolBetsChunk { Totals = totals }, cancellationToken);
        if (totals.BetCount == 0)
        {
            return PoolBetsAnswer.Written;
        }

        await using (var command = new NpgsqlCommand(
            "SELECT bet_id, user_id, outcome_id, stake_minor FROM bets WHERE pool_id = $1 AND status = 'accepted' ORDER BY bet_id",
            connection, transaction))
        {
            command.Parameters.Add(Value(poolId));
            await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, cancellationToken);
            var chunk = new ChunkBuilder(maxBetsPerChunk);
            while (await reader.ReadAsync(cancellationToken))
            {
                chunk.Add(reader.GetGuid(0), reader.GetGuid(1), indexOf[reader.GetGuid(2)], reader.GetInt64(3));
                if (chunk.IsFull)
                {
                    await writer.WriteAsync(chunk.Build(), cancellationToken);
                }
            }
            if (chunk.Count > 0)
            {
                await writer.WriteAsync(chunk.Build(), cancellationToken);
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return PoolBetsAnswer.Written;
    }

    /// <summary>Collects one chunk's columns; <see cref="Build"/> hands them over and starts a fresh chunk.</summary>
    private sealed class ChunkBuilder(int capacity)
    {
        private byte[] _betIds = new byte[capacity * GuidBytes];
        private byte[] _userIds = new byte[capacity * GuidBytes];
        private PoolBetColumns _columns = new();

        public int Count { get; private set; }

        public bool IsFull => Count == capacity;

        public void Add(Guid betId, Guid userId, uint outcomeIndex, long stakeMinor)
        {
            betId.TryWriteBytes(_betIds.AsSpan(Count * GuidBytes, GuidBytes), bigEndian: true, out _);
            userId.TryWriteBytes(_userIds.AsSpan(Count * GuidBytes, GuidBytes), bigEndian: true, out _);
            _columns.OutcomeIndex.Add(outcomeIndex);
            _columns.StakeMinor.Add(stakeMinor);
            Count++;
        }

        public PoolBetsChunk Build()
        {
            // The arrays become the message's bytes without a copy; the next chunk gets fresh ones.
            _columns.BetIds = UnsafeByteOperations.UnsafeWrap(_betIds.AsMemory(0, Count * GuidBytes));
            _columns.UserIds = UnsafeByteOperations.UnsafeWrap(_userIds.AsMemory(0, Count * GuidBytes));
            var chunk = new PoolBetsChunk { Bets = _columns };
            _betIds = new byte[capacity * GuidBytes];
            _userIds = new byte[capacity * GuidBytes];
            _columns = new PoolBetColumns();
            Count = 0;
            return chunk;
        }
    }
}
