using Npgsql;
using StreamBets.BetEngine.Data;
using StreamBets.BetEngine.Ledger;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;
using static StreamBets.BetEngine.Data.BetStore;

namespace StreamBets.BetEngine.Placement;

/// <summary>What is known about one pending bet once its stake went to the ledger (or was held back).</summary>
/// <param name="Rejection">Set when the bet must be rejected whatever the ledger did (a second outcome caught before the
/// ledger, a pool that finished before recovery got to it); a moved stake is then refunded.</param>
public sealed record StakeDecision(PendingBet Bet, StakeMovement Movement, BetRejection? Rejection = null);

/// <summary>The outcome of finalizing a batch: each bet's stored state, and what the caller must do after the commit.</summary>
public sealed record FinalizedBatch(
    IReadOnlyList<BetRecord> Bets,
    IReadOnlyList<PendingBet> NewlyAccepted,
    IReadOnlyList<PendingBet> RefundsDue);

/// <summary>
/// Step 3 of a batch: ONE betsdb transaction decides every bet of the batch. It locks the bets that are still pending
/// (a bet another finalizer decided meanwhile is left alone), applies the one-outcome rule through the
/// (pool_id, user_id) primary key, marks each bet accepted or rejected, adds the accepted stakes to the pool's
/// totals and writes the accepted bets to the outbox in BetsPlaced events. In a pool recorded in finished_pools
/// (resolved, cancelled, or its settlement snapshot begun) every moved stake is rejected <c>pool-closed</c> instead:
/// Settlement does not count it. Rejected bets whose stake moved are marked refund 'due'; the caller refunds them after
/// the commit, and recovery does if the caller dies first.
/// <para>
/// A bet recovery has claimed (<see cref="BetStore.ClaimForRecoveryAsync"/>) is decided only by recovery
/// (<see cref="FinalizeClaimedAsync"/>): recovery may have sent its stake again, even one the live batch held back, and
/// only its replay knows whether that moved. The live finalize leaves such a bet pending and answers it so. The check
/// rides on the row lock the finalize takes anyway: no extra round trip.
/// </para>
/// <para>
/// Recovery's finalize, in turn, owns a claimed bet only under ITS claim: a recoverer that stalled past the grace period
/// lost the bet to the next claim, and its own answer may be stale (the ledger stores no refusal: INSUFFICIENT_FUNDS then
/// can be APPLIED for the next recoverer, whose answer may be lost). Deciding such a bet "rejected, nothing moved" would
/// leave its stake in escrow for good, so it stays pending, and a later round's replay (DUPLICATE) decides it. One
/// exception: a stake this recoverer's replay MOVED is final whoever holds the claim (the ledger applies an id once), so
/// it decides that bet if still pending: the holder of the newer claim may have heard INSUFFICIENT_FUNDS before our
/// replay applied, and would otherwise reject it with nothing to refund.
/// </para>
/// </summary>
public sealed class BatchFinalizer(NpgsqlDataSource db, IOutbox outbox, TimeProvider time)
{
    private const int MaxAttempts = 5;

    /// <summary>A live batch's finalize: decides its bets that are still pending and not claimed by recovery.</summary>
    /// <param name="decisions">Bets of ONE pool, in the order they were placed (the first outcome of a user wins).</param>
    public Task<FinalizedBatch> FinalizeAsync(Guid poolId, IReadOnlyList<StakeDecision> decisions, CancellationToken cancellationToken) =>
        FinalizeAsync(poolId, decisions, claimedAt: null, cancellationToken);

    /// <summary>Recovery's finalize of the bets it claimed and whose stakes it replayed: decides those still pending under
    /// its claim, and those whose stake its replay moved (a moved stake is final, whoever claimed the bet since).</summary>
    /// <param name="decisions">Bets of ONE pool, in the order they were placed (the first outcome of a user wins).</param>
    /// <param name="claimedAt">The stamp this recoverer claimed the bets with (<see cref="BetStore.ClaimForRecoveryAsync"/>);
    /// a bet claimed again since belongs to the newer claim.</param>
    public Task<FinalizedBatch> FinalizeClaimedAsync(
        Guid poolId, IReadOnlyList<StakeDecision> decisions, DateTimeOffset claimedAt, CancellationToken cancellationToken) =>
        FinalizeAsync(poolId, decisions, claimedAt, cancellationToken);

    /// <param name="claimedAt">Null for a live batch (it owns only unclaimed bets), recovery's claim stamp otherwise.</param>
    private async Task<FinalizedBatch> FinalizeAsync(Guid poolId, IReadOnlyList<StakeDecision> decisions, DateTimeOffset? claimedAt, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var commitSent = false;
            try
            {
                await using var connection = await db.OpenConnectionAsync(cancellationToken);
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                var finalized = await DecideAsync(connection, transaction, poolId, decisions, claimedAt, cancellationToken);
                commitSent = true;
                await transaction.CommitAsync(cancellationToken);
                return finalized;
            }
            catch (PostgresException e) when (attempt < MaxAttempts && e.SqlState is PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure)
            {
                // Another finalizer of the same bets or users (recovery, another replica) crossed us; the transaction
                // rolled back whole, so trying again is safe.
            }
            catch (NpgsqlException e) when (attempt < MaxAttempts && !commitSent && IsConnectionFailure(e))
            {
                // The connection died before COMMIT was sent (after a PostgreSQL restart the pool still holds dead
                // connections): nothing committed, so the whole transaction runs again. Npgsql clears the data source's
                // pool when a connection breaks this way, so the next attempt opens a fresh one. Once COMMIT is sent a
                // failure is ambiguous and is not retried: had the commit landed, a retry would find the bets decided
                // and answer them rightly, but as decided by someone else (no NewlyAccepted, no RefundsDue), so the
                // refunds due would wait for recovery. The batch answers pending instead, and recovery decides.
            }
        }
    }

    /// <summary>The connection to betsdb broke (a closed socket, the server shutting down or restarting), as opposed to a
    /// statement failing. A timeout is not one: betsdb is slow, and running the batch again would only hold the pool's
    /// next batches longer.</summary>
    private static bool IsConnectionFailure(NpgsqlException e) => e.IsTransient && e.InnerException is not TimeoutException && e switch
    {
        PostgresException p => p.SqlState.StartsWith("08", StringComparison.Ordinal)
            || p.SqlState is PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown or PostgresErrorCodes.CannotConnectNow,
        _ => true,
    };

    /// <summary>Everything of the finalize but its commit.</summary>
    private async Task<FinalizedBatch> DecideAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Guid poolId, IReadOnlyList<StakeDecision> decisions, DateTimeOffset? claimedAt,
        CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();

        // 1. Own the bets that are still pending (a live batch: and not claimed by recovery, which decides those; recovery:
        //    and claimed by this recoverer, or their stake moved by its replay), and
        //    learn whether the pool finished meanwhile. That read needs no lock:
        //    a bet pending when Settlement's snapshot began makes Settlement wait and read again after this commit, and
        //    no bet of a finished pool becomes pending any more (BetStore.WritePendingAsync).
        var owned = new HashSet<Guid>();
        bool poolFinished;
        await using (var batch = new NpgsqlBatch(connection, transaction))
        {
            batch.BatchCommands.Add(Command(PoolFinishedSql, poolId));
            // Found by primary key alone, the status read rather than filtered on, so no plan can prefer another index
            // (a partial index on status, since dropped, once cost 4.7 ms a batch here; docs/machine-notes.md, session 21).
            var betIds = decisions.Select(d => d.Bet.BetId).ToArray();
            batch.BatchCommands.Add(claimedAt is not { } claim
                ? Command("SELECT bet_id, status = 'pending' AND recovery_claimed_at IS NULL FROM bets WHERE bet_id = ANY($1) ORDER BY bet_id FOR UPDATE", betIds)
                : Command(
                    "SELECT bet_id, status = 'pending' AND (recovery_claimed_at IS NULL OR recovery_claimed_at = $2 OR bet_id = ANY($3))" +
                    " FROM bets WHERE bet_id = ANY($1) ORDER BY bet_id FOR UPDATE",
                    betIds, claim, decisions.Where(d => d.Movement == StakeMovement.Moved).Select(d => d.Bet.BetId).ToArray()));
            await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            poolFinished = reader.GetBoolean(0);
            await reader.NextResultAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                if (reader.GetBoolean(1))
                {
                    owned.Add(reader.GetGuid(0));
                }
            }
        }

        // 2. The one-outcome rule: the user's first moved bet claims an outcome unless one is already stored. Nothing is
        //    claimed in a finished pool: its moved stakes all go back.
        var claims = new Dictionary<Guid, Guid>();
        foreach (var decision in decisions)
        {
            if (!poolFinished && owned.Contains(decision.Bet.BetId) && decision is { Movement: StakeMovement.Moved, Rejection: null })
            {
                claims.TryAdd(decision.Bet.UserId, decision.Bet.OutcomeId);
            }
        }
        var backed = claims.Count == 0 ? new Dictionary<Guid, Guid>() : await ClaimOutcomesAsync(transaction, poolId, claims, cancellationToken);

        // 3. Decide.
        var records = new List<BetRecord>(decisions.Count);
        var accepted = new List<PendingBet>();
        var refunds = new List<PendingBet>();
        var movedElsewhere = new List<Guid>();
        var notOwned = new List<Guid>();
        foreach (var decision in decisions)
        {
            var bet = decision.Bet;
            if (!owned.Contains(bet.BetId))
            {
                // Decided by someone else, or still pending under a claim that is not ours (a live batch: recovery's;
                // recovery: a newer recoverer's), whose holder decides it; a stake we moved, its replay finds DUPLICATE.
                // (Recovery owns a pending bet whose stake its replay moved: step 1.)
                notOwned.Add(bet.BetId);
                if (decision.Movement == StakeMovement.Moved)
                {
                    movedElsewhere.Add(bet.BetId);
                }
                continue;
            }

            var rejection = decision.Rejection ?? decision.Movement switch
            {
                StakeMovement.Moved when poolFinished => BetBatchPipeline.PoolClosed(stakeMoved: true),
                StakeMovement.Moved => backed[bet.UserId] == bet.OutcomeId ? null : SecondOutcome(),
                StakeMovement.InsufficientFunds => new BetRejection(BetRejectionCodes.InsufficientFunds, "Your wallet balance does not cover the stake."),
                _ => new BetRejection(BetRejectionCodes.WalletRejected, "The wallet refused the stake."),
            };
            if (rejection is null)
            {
                accepted.Add(bet);
                records.Add(bet.ToRecord(BetStatus.Accepted));
            }
            else
            {
                if (decision.Movement == StakeMovement.Moved)
                {
                    refunds.Add(bet);
                }
                records.Add(bet.ToRecord(BetStatus.Rejected, rejection));
            }
        }

        // 4. Write the decisions, the totals, late refunds and the facts, and read back the bets someone else decided.
        await using (var batch = new NpgsqlBatch(connection, transaction))
        {
            var decided = records.ToArray();
            var refundIds = refunds.Select(r => r.BetId).ToHashSet();
            // A trigger takes the rejected bets off open_bets (007); accepted ones leave it when settled.
            batch.BatchCommands.Add(Command("""
                UPDATE bets SET status = d.status, rejection_code = d.code, rejection_detail = d.detail, refund_status = d.refund, decided_at = $6
                FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[]) AS d(bet_id, status, code, detail, refund)
                WHERE bets.bet_id = d.bet_id
                """,
                decided.Select(r => r.BetId).ToArray(),
                decided.Select(r => StatusText(r.Status)).ToArray(),
                decided.Select(r => r.Rejection?.Code).ToArray(),
                decided.Select(r => r.Rejection?.Detail).ToArray(),
                decided.Select(r => refundIds.Contains(r.BetId) ? "due" : null).ToArray(),
                now));
            if (accepted.Count > 0)
            {
                var byOutcome = accepted.GroupBy(b => b.OutcomeId).OrderBy(g => g.Key).ToArray();
                batch.BatchCommands.Add(Command("""
                    INSERT INTO pool_outcome_totals (pool_id, outcome_id, staked_minor, bet_count)
                    SELECT $1, t.outcome_id, t.staked, t.bets FROM unnest($2::uuid[], $3::bigint[], $4::bigint[]) AS t(outcome_id, staked, bets)
                    ON CONFLICT (pool_id, outcome_id) DO UPDATE
                    SET staked_minor = pool_outcome_totals.staked_minor + excluded.staked_minor, bet_count = pool_outcome_totals.bet_count + excluded.bet_count
                    """,
                    poolId,
                    byOutcome.Select(g => g.Key).ToArray(),
                    byOutcome.Select(g => g.Sum(b => b.StakeMinor)).ToArray(),
                    byOutcome.Select(g => (long)g.Count()).ToArray()));
            }

            // The pool's pending batches whose bets are all decided now (this one's, normally) are done.
            batch.BatchCommands.Add(Command($"DELETE FROM pending_batches p WHERE p.pool_id = $1 AND {NoPendingBetIn("p")}", poolId));

            // Our replay moved a stake that another finalizer had rejected without money (e.g. insufficient funds then,
            // enough now): that money must go back too. (One still pending is left to its claim's holder: see above.)
            batch.BatchCommands.Add(Command(
                "UPDATE bets SET refund_status = 'due' WHERE bet_id = ANY($1) AND status = 'rejected' AND refund_status IS NULL RETURNING bet_id",
                movedElsewhere.ToArray()));
            batch.BatchCommands.Add(Command($"SELECT {BetColumns} FROM {BetsWithSettlement} WHERE b.bet_id = ANY($1)", notOwned.ToArray()));
            // The facts, last in the same transaction: a bet is in a BetsPlaced if and only if it was accepted.
            foreach (var command in outbox.CommandsFor(BetsPlacedEvents(poolId, accepted)))
            {
                batch.BatchCommands.Add(command);
            }

            // Npgsql's reader skips statements that return no rows: it starts at the late-refund UPDATE's RETURNING.
            await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
            var lateRefunds = new HashSet<Guid>();
            while (await reader.ReadAsync(cancellationToken))
            {
                lateRefunds.Add(reader.GetGuid(0));
            }
            await reader.NextResultAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                records.Add(ReadBet(reader));
            }
            refunds.AddRange(decisions.Select(d => d.Bet).Where(b => lateRefunds.Contains(b.BetId)));
        }

        var byId = records.ToDictionary(r => r.BetId);
        return new FinalizedBatch([.. decisions.Select(d => byId[d.Bet.BetId])], accepted, refunds);
    }

    private static BetsPlaced[] BetsPlacedEvents(Guid poolId, List<PendingBet> accepted) =>
        [.. accepted.Chunk(BetsPlaced.MaxBets).Select(chunk => new BetsPlaced(poolId,
            [.. chunk.Select(b => new PlacedBetLine(b.BetId, b.UserId, b.OutcomeId, b.StakeMinor, b.PlacedAt))]))];

    /// <summary>
    /// Inserts each user's claimed outcome unless the user already backs one, and returns the outcome each user backs
    /// now. The no-op update makes RETURNING yield existing rows too, and locks them until the commit.
    /// </summary>
    private static async Task<Dictionary<Guid, Guid>> ClaimOutcomesAsync(
        NpgsqlTransaction transaction, Guid poolId, Dictionary<Guid, Guid> claims, CancellationToken cancellationToken)
    {
        var ordered = claims.OrderBy(c => c.Key).ToArray();
        await using var command = new NpgsqlCommand("""
            INSERT INTO pool_user_outcomes (pool_id, user_id, outcome_id)
            SELECT $1, c.user_id, c.outcome_id FROM unnest($2::uuid[], $3::uuid[]) WITH ORDINALITY AS c(user_id, outcome_id, n) ORDER BY c.n
            ON CONFLICT (pool_id, user_id) DO UPDATE SET outcome_id = pool_user_outcomes.outcome_id
            RETURNING user_id, outcome_id
            """, transaction.Connection, transaction);
        command.Parameters.Add(Value(poolId));
        command.Parameters.Add(Value(ordered.Select(c => c.Key).ToArray()));
        command.Parameters.Add(Value(ordered.Select(c => c.Value).ToArray()));
        var backed = new Dictionary<Guid, Guid>(claims.Count);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            backed[reader.GetGuid(0)] = reader.GetGuid(1);
        }
        return backed;
    }

    internal static BetRejection SecondOutcome() =>
        new(BetRejectionCodes.SecondOutcome, "You already back another outcome of this pool; you may only add to that one.");

    /// <summary>The capped case (<see cref="BetBatchPipeline"/>'s step 2): the player backs nothing, but their stakes on two
    /// other outcomes were both refused in this batch, and a third outcome is not tried.</summary>
    internal static BetRejection SecondOutcomeAfterRefusals() =>
        new(BetRejectionCodes.SecondOutcome, "Your stakes on two other outcomes of this pool were refused in the same moment; back one outcome at a time.");
}
