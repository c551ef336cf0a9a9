using System.Data;
using Google.Protobuf;
using Grpc.Core;
using Npgsql;
using StreamBets.Contracts.Bets;
using static StreamBets.BetEngine.Data.BetStore;

namespace StreamBets.BetEngine.Settlement;

/// <summary>
/// A pool's accepted bets for Settlement (bets.proto StreamPoolBets): the totals per outcome, then the bets in
/// bet_id order in columnar chunks, all read from ONE repeatable-read snapshot so the totals and the bets agree
/// exactly (Pools checks that they do). Memory stays at one chunk whatever the pool's size: rows stream from the
/// server and each chunk is written (and flow-controlled by HTTP/2) before the next is read.
/// </summary>
public sealed class PoolBetsFeed(NpgsqlDataSource db)
{
    public const int MaxBetsPerChunk = 10_000;
    public const string BetsPendingReason = "bets-pending";
    private const int GuidBytes = 16;

    /// <summary>Writes the pool's totals and bets, or answers false (writing nothing) while any bet of the pool is
    /// still pending: its fate is unknown, and settling without it could leave its stake in escrow.</summary>
    public async Task<bool> WriteAsync(Guid poolId, int maxBetsPerChunk, IAsyncStreamWriter<PoolBetsChunk> writer, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);

        // The snapshot starts with the first statement, so the check below and both reads see the same bets.
        await using (var pending = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM bets WHERE status = 'pending' AND pool_id = $1)", connection, transaction))
        {
            pending.Parameters.Add(Value(poolId));
            if ((bool)(await pending.ExecuteScalarAsync(cancellationToken))!)
            {
                return false;
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
            return true;
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
        return true;
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
