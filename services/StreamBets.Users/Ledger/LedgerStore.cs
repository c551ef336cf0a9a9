using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Npgsql;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;

namespace StreamBets.Users.Ledger;

/// <summary>
/// The wallet ledger in PostgreSQL: the only code that changes a balance.
/// <para>
/// A batch of transfers costs three round trips whatever its size: (1) lock every involved account
/// in one fixed order; then, after deciding in memory which transfers are accepted (<see cref="LedgerBatchPlanner"/>),
/// (2) insert all accepted transfers and entries with set-based SQL and update each account once with its
/// net delta; (3) commit. A hot account such as a pool's escrow is therefore written once per batch, not
/// once per bet, and the locks in one fixed order mean concurrent batches queue instead of deadlocking.
/// </para>
/// <para>
/// Replays are rare, so the first attempt assumes every transfer id is new: the insert skips ids already
/// stored, and if it skipped any (or the id of a transfer the plan refused is stored), the attempt rolls back and the next one reads the earlier transfers
/// under the locks first (answering duplicate or idempotency-key-reused). Looking every id up in advance
/// cost a sixth of each batch.
/// </para>
/// Only applied transfers are stored: a transfer refused for insufficient funds leaves no trace, so a
/// retry with the same id after a deposit can succeed. Every change to a user's wallet writes a
/// WalletsChanged event to the outbox in the same transaction.
/// </summary>
public sealed partial class LedgerStore(NpgsqlDataSource dataSource, IOutbox outbox, TimeProvider time, ILogger<LedgerStore> logger)
{
    public const int MaxBatchSize = 10_000;
    private const int MaxAttempts = 5;

    public static readonly ActivitySource ActivitySource = new("StreamBets.Users.Ledger");
    /// <summary>The ledger's meter: the transfer metrics here, the audit's gauges (<see cref="LedgerAudit"/>).</summary>
    public const string MeterName = "StreamBets.Users.Ledger";
    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> TransfersCounter = Meter.CreateCounter<long>("streambets.ledger.transfers", description: "Transfer requests answered, by status.");
    private static readonly Histogram<int> BatchSizes = Meter.CreateHistogram<int>("streambets.ledger.batch_size", description: "Transfers per ledger transaction.");

    // One index probe and lock per account, in the order of $1 (see InLockOrder); ord says which account a row is.
    // Written as "code = ANY($1)" the planner chose a scan of every account once the table held a few hundred thousand:
    // 5x slower than the probes at a million accounts, and the slowest statement of a big pool's settlement.
    internal const string LockAccountsSql = """
        SELECT a.id, c.ord, a.balance FROM unnest($1::text[]) WITH ORDINALITY AS c(code, ord)
        CROSS JOIN LATERAL (SELECT id, balance FROM ledger_accounts WHERE code = c.code FOR UPDATE) a
        """;

    private const string StoredTransfersSql = """
        SELECT t.transfer_id, t.seq, t.reason, t.reference, t.created_at, a.code, e.amount, e.balance_after
        FROM ledger_transfers t
        JOIN ledger_entries e ON e.transfer_seq = t.seq
        JOIN ledger_accounts a ON a.id = e.account_id
        WHERE t.transfer_id = ANY($1)
        """;

    // ORDER BY ord makes sequence numbers follow the batch order, which the planned balances assume.
    private const string InsertTransfersSql = """
        WITH new_transfers AS (
            INSERT INTO ledger_transfers (transfer_id, reason, reference, created_at)
            SELECT t.transfer_id, t.reason, t.reference, $4
            FROM unnest($1::uuid[], $2::text[], $3::text[]) WITH ORDINALITY AS t(transfer_id, reason, reference, ord)
            ORDER BY t.ord
            ON CONFLICT (transfer_id) DO NOTHING
            RETURNING seq, transfer_id
        ), new_entries AS (
            INSERT INTO ledger_entries (transfer_seq, account_id, amount, balance_after)
            SELECT nt.seq, e.account_id, e.amount, e.balance_after
            FROM unnest($5::uuid[], $6::bigint[], $7::bigint[], $8::bigint[]) AS e(transfer_id, account_id, amount, balance_after)
            JOIN new_transfers nt ON nt.transfer_id = e.transfer_id
        )
        SELECT transfer_id, seq FROM new_transfers
        """;

    private const string UpdateBalancesSql = """
        UPDATE ledger_accounts AS a SET balance = a.balance + d.delta
        FROM unnest($1::bigint[], $2::bigint[]) AS d(id, delta)
        WHERE a.id = d.id
        """;

    // NOT EXISTS spares an id for each account that exists (a transfer in the caller's transaction names them all);
    // ON CONFLICT still settles a concurrent creation.
    private const string CreateAccountsSql = """
        INSERT INTO ledger_accounts (code, kind, owner_id)
        SELECT * FROM unnest($1::text[], $2::text[], $3::uuid[]) AS a(code, kind, owner_id)
        WHERE NOT EXISTS (SELECT 1 FROM ledger_accounts e WHERE e.code = a.code) ORDER BY 1
        ON CONFLICT (code) DO NOTHING
        """;

    public async Task<TransferOutcome> TransferAsync(TransferRequest request, CancellationToken cancellationToken = default) =>
        (await TransferBatchAsync([request], cancellationToken))[0];

    /// <summary>
    /// Applies independent transfers in one database transaction. Each is atomic by itself and is
    /// answered on its own, in request order; a later transfer sees the balances left by earlier ones.
    /// </summary>
    public async Task<IReadOnlyList<TransferOutcome>> TransferBatchAsync(IReadOnlyList<TransferRequest> requests, CancellationToken cancellationToken = default)
    {
        if (requests.Count is 0 or > MaxBatchSize)
        {
            throw new ArgumentOutOfRangeException(nameof(requests), $"A batch holds between 1 and {MaxBatchSize} transfers.");
        }

        using var activity = ActivitySource.StartActivity("ledger transfer batch");
        activity?.SetTag("streambets.ledger.batch_size", requests.Count);

        var batch = ValidatedBatch.Of(requests);
        var outcomes = batch.TransferIds.Length == 0
            ? batch.AllRefused()
            : await ApplyWithRetriesAsync(batch.Validated, batch.LockOrder, batch.TransferIds, cancellationToken);
        return Counted(outcomes);
    }

    /// <summary>
    /// Applies one transfer in the caller's transaction, so the caller's own writes commit or roll back with it (a sandbox
    /// deposit and its deposit record). The caller commits. There is no attempt to roll back and start again: earlier
    /// transfers with the id are read under the account locks, and missing accounts are created in the transaction before any lock.
    /// Anything else that would have meant another attempt (a deadlock, the id stored meanwhile with other accounts)
    /// throws, and the caller's transaction must roll back.
    /// </summary>
    public async Task<TransferOutcome> TransferAsync(NpgsqlTransaction transaction, TransferRequest request, CancellationToken cancellationToken = default)
    {
        using var activity = ActivitySource.StartActivity("ledger transfer in caller's transaction");
        activity?.SetTag("streambets.ledger.batch_size", 1);

        var batch = ValidatedBatch.Of([request]);
        if (batch.TransferIds.Length == 0)
        {
            return Counted(batch.AllRefused())[0];
        }

        // Missing accounts are created before any is locked, so the locks are still taken in the one order. Created after a
        // lock that found the new wallet missing, this transaction held PSP clearing while a batch created that wallet,
        // locked it and waited for PSP clearing, then waited for the wallet itself: a deadlock this path cannot retry.
        await CreateAccountsAsync(transaction.Connection!, transaction, batch.LockOrder, cancellationToken);
        var attempt = await TryApplyAsync(transaction, batch.Validated, batch.LockOrder, batch.TransferIds, cancellationToken);
        return Counted(attempt.Outcomes ?? throw new InvalidOperationException(
            $"Transfer {request.TransferId} could not be applied in the caller's transaction; it must roll back."))[0];
    }

    /// <summary>Requests validated, with the accounts their valid transfers touch in lock order and their transfer ids.</summary>
    private sealed record ValidatedBatch(
        (string RequestedId, LedgerTransfer? Transfer, string? Error)[] Validated, LedgerAccountId[] LockOrder, Guid[] TransferIds)
    {
        public static ValidatedBatch Of(IReadOnlyList<TransferRequest> requests)
        {
            var validated = new (string RequestedId, LedgerTransfer? Transfer, string? Error)[requests.Count];
            var accounts = new HashSet<LedgerAccountId>();
            var transferIds = new HashSet<Guid>();
            for (var i = 0; i < requests.Count; i++)
            {
                var request = requests[i];
                if (LedgerTransfer.TryCreate(request, out var transfer, out var error))
                {
                    validated[i] = (request.TransferId, transfer, null);
                    transferIds.Add(transfer.TransferId);
                    foreach (var posting in transfer.Postings)
                    {
                        accounts.Add(posting.Account);
                    }
                }
                else
                {
                    validated[i] = (request.TransferId ?? "", null, error);
                }
            }
            return new ValidatedBatch(validated, [.. InLockOrder(accounts)], [.. transferIds]);
        }

        /// <summary>The answers when no request is valid: nothing to lock or write.</summary>
        public IReadOnlyList<TransferOutcome> AllRefused() =>
            LedgerBatchPlanner.Plan(Validated, new Dictionary<LedgerAccountId, LockedAccount>(), new Dictionary<Guid, CommittedTransfer>())
                .Decisions.Select(d => d.Outcome!).ToArray();
    }

    private static IReadOnlyList<TransferOutcome> Counted(IReadOnlyList<TransferOutcome> outcomes)
    {
        BatchSizes.Record(outcomes.Count);
        foreach (var outcome in outcomes)
        {
            TransfersCounter.Add(1, new KeyValuePair<string, object?>("status", outcome.Status.ToString()));
        }
        return outcomes;
    }

    private async Task<IReadOnlyList<TransferOutcome>> ApplyWithRetriesAsync(
        IReadOnlyList<(string RequestedId, LedgerTransfer? Transfer, string? Error)> validated,
        LedgerAccountId[] lockOrder,
        Guid[] transferIds,
        CancellationToken cancellationToken)
    {
        Guid[]? lookUp = null;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var result = await TryApplyAsync(validated, lockOrder, lookUp, cancellationToken);
                if (result.Outcomes is not null)
                {
                    return result.Outcomes;
                }
                if (attempt >= MaxAttempts)
                {
                    throw new InvalidOperationException($"Ledger batch could not be applied in {MaxAttempts} attempts.");
                }
                if (result.EarlierTransferFound)
                {
                    lookUp = transferIds;
                    continue;
                }
                // Accounts are created outside the batch's transaction: creating them while holding other
                // accounts' locks could deadlock with a batch creating the same ones. Accounts are never deleted, so
                // this happens at most once per batch; an account that stays unused is harmless.
                await CreateAccountsAsync(result.MissingAccounts!, cancellationToken);
            }
            catch (PostgresException e) when (attempt < MaxAttempts && IsTransient(e))
            {
                LogRetry(logger, attempt, e.SqlState);
            }
        }
    }

    /// <summary>
    /// The one order every batch locks its accounts in, so concurrent batches queue instead of deadlocking: wallets
    /// first, then shared accounts (a pool's escrow, house, PSP), each by code. A batch thus takes a hot escrow's lock
    /// after probing its thousands of wallets, not before, and other batches on that escrow wait less.
    /// </summary>
    private static IEnumerable<LedgerAccountId> InLockOrder(IEnumerable<LedgerAccountId> accounts) => accounts
        .OrderBy(account => account.Kind == LedgerAccountKind.User ? 0 : 1)
        .ThenBy(account => account.Code, StringComparer.Ordinal);

    private static bool IsTransient(PostgresException e) =>
        e.SqlState is PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure;

    /// <summary>What one attempt did: answered the batch, or found a reason to roll back that the next attempt deals with.</summary>
    private sealed record Attempt(IReadOnlyList<TransferOutcome>? Outcomes, IReadOnlySet<LedgerAccountId>? MissingAccounts = null, bool EarlierTransferFound = false);

    /// <summary>One attempt in a transaction of its own: committed when it answered the batch, else rolled back.</summary>
    private async Task<Attempt> TryApplyAsync(
        IReadOnlyList<(string RequestedId, LedgerTransfer? Transfer, string? Error)> validated,
        LedgerAccountId[] lockOrder,
        Guid[]? lookUp,
        CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var attempt = await TryApplyAsync(transaction, validated, lockOrder, lookUp, cancellationToken);
        if (attempt.Outcomes is null)
        {
            await transaction.RollbackAsync(cancellationToken);
        }
        else
        {
            await transaction.CommitAsync(cancellationToken);
        }
        return attempt;
    }

    /// <summary>
    /// One attempt in <paramref name="transaction"/>, which it neither commits nor rolls back. An attempt that did not
    /// answer the batch (<see cref="Attempt.Outcomes"/> null) may have written, so its transaction must roll back.
    /// </summary>
    /// <param name="lookUp">The batch's transfer ids to read back first, or null to assume they are all new.</param>
    private async Task<Attempt> TryApplyAsync(
        NpgsqlTransaction transaction,
        IReadOnlyList<(string RequestedId, LedgerTransfer? Transfer, string? Error)> validated,
        LedgerAccountId[] lockOrder,
        Guid[]? lookUp,
        CancellationToken cancellationToken)
    {
        var connection = transaction.Connection!;

        // Round trip 1: lock, then (on a retry) look up earlier transfers. The lookup runs after the locks are
        // held, so a concurrent batch with the same transfer id and accounts has either committed (we see it) or waits for us.
        var accounts = new Dictionary<LedgerAccountId, LockedAccount>(lockOrder.Length);
        var stored = new Dictionary<Guid, CommittedTransfer>();
        await using (var batch = new NpgsqlBatch(connection, transaction))
        {
            batch.BatchCommands.Add(Command(LockAccountsSql, Value<string[]>([.. lockOrder.Select(a => a.Code)])));
            if (lookUp is not null)
            {
                batch.BatchCommands.Add(Command(StoredTransfersSql, Value(lookUp)));
            }
            await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                accounts[lockOrder[reader.GetInt64(1) - 1]] = new LockedAccount(reader.GetInt64(0), reader.GetInt64(2));
            }
            if (lookUp is not null)
            {
                await reader.NextResultAsync(cancellationToken);
                await ReadTransfersAsync(reader, stored, cancellationToken);
            }
        }
        if (accounts.Count < lockOrder.Length)
        {
            // Every account the batch names, even those only refused transfers touch: which transfers are accepted can
            // change by the next attempt as other batches move money, and creating only the accepted ones' accounts
            // took one more attempt per newly funded payer.
            return new Attempt(null, MissingAccounts: lockOrder.Where(account => !accounts.ContainsKey(account)).ToHashSet());
        }

        var plan = LedgerBatchPlanner.Plan(validated, accounts, stored);
        if (lookUp is null && await AnyRefusedTransferIsStoredAsync(connection, transaction, validated, plan, cancellationToken))
        {
            return new Attempt(null, EarlierTransferFound: true);
        }

        var sequences = new Dictionary<Guid, long>(plan.Transfers.Count);
        if (plan.Transfers.Count > 0)
        {
            // PostgreSQL keeps microseconds: truncate now so a replay returns exactly the first result.
            var now = time.GetUtcNow();
            var createdAt = new DateTimeOffset(now.UtcTicks - now.UtcTicks % 10, TimeSpan.Zero);
            await WritePlanAsync(connection, transaction, plan, accounts, createdAt, outbox.CommandsFor(WalletChanges(plan, createdAt)), sequences, cancellationToken);
            if (sequences.Count < plan.Transfers.Count)
            {
                // The insert skipped ids that are already stored (or were stored by a concurrent batch meanwhile).
                return new Attempt(null, EarlierTransferFound: true);
            }
            return new Attempt(Outcomes(validated, plan, sequences, createdAt));
        }

        return new Attempt(Outcomes(validated, plan, sequences, default));
    }

    /// <summary>
    /// A transfer the plan refused (say, for insufficient funds) never reaches the insert, so the insert cannot
    /// reveal that it is a replay of a stored one, which must be answered duplicate instead.
    /// </summary>
    private static async Task<bool> AnyRefusedTransferIsStoredAsync(
        NpgsqlConnection connection,
        NpgsqlTransaction transaction,
        IReadOnlyList<(string RequestedId, LedgerTransfer? Transfer, string? Error)> validated,
        BatchPlan plan,
        CancellationToken cancellationToken)
    {
        var refused = new List<Guid>();
        for (var i = 0; i < validated.Count; i++)
        {
            if (validated[i].Transfer is { } transfer && plan.Decisions[i].Outcome is not null)
            {
                refused.Add(transfer.TransferId);
            }
        }
        if (refused.Count == 0)
        {
            return false;
        }
        await using var command = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM ledger_transfers WHERE transfer_id = ANY($1))", connection, transaction);
        command.Parameters.Add(Value(refused.ToArray()));
        return await command.ExecuteScalarAsync(cancellationToken) is true;
    }

    /// <summary>
    /// Round trip 2: every accepted transfer and entry in one statement, every account updated once, and the
    /// WalletsChanged events into the outbox (rolled back with the rest if the insert skipped a stored id).
    /// </summary>
    private static async Task WritePlanAsync(
        NpgsqlConnection connection,
        NpgsqlTransaction transaction,
        BatchPlan plan,
        Dictionary<LedgerAccountId, LockedAccount> accounts,
        DateTimeOffset createdAt,
        IReadOnlyList<NpgsqlBatchCommand> outboxCommands,
        Dictionary<Guid, long> sequences,
        CancellationToken cancellationToken)
    {
        var transferIds = new Guid[plan.Transfers.Count];
        var reasons = new string[plan.Transfers.Count];
        var references = new string?[plan.Transfers.Count];
        var entryCount = plan.Transfers.Sum(t => t.Postings.Count);
        var entryTransferIds = new Guid[entryCount];
        var entryAccounts = new long[entryCount];
        var entryAmounts = new long[entryCount];
        var entryBalances = new long[entryCount];
        var e = 0;
        for (var t = 0; t < plan.Transfers.Count; t++)
        {
            var planned = plan.Transfers[t];
            transferIds[t] = planned.Transfer.TransferId;
            reasons[t] = planned.Transfer.Reason;
            references[t] = planned.Transfer.Reference;
            foreach (var posting in planned.Postings)
            {
                entryTransferIds[e] = planned.Transfer.TransferId;
                entryAccounts[e] = accounts[posting.Account].StoreId;
                entryAmounts[e] = posting.AmountMinor;
                entryBalances[e] = posting.BalanceAfterMinor;
                e++;
            }
        }

        var deltaAccounts = new long[plan.AccountDeltas.Count];
        var deltas = new long[plan.AccountDeltas.Count];
        var d = 0;
        foreach (var (account, delta) in plan.AccountDeltas)
        {
            deltaAccounts[d] = accounts[account].StoreId;
            deltas[d] = delta;
            d++;
        }

        await using var batch = new NpgsqlBatch(connection, transaction);
        batch.BatchCommands.Add(Command(InsertTransfersSql,
            Value(transferIds), Value(reasons), Value(references), Value(createdAt), Value(entryTransferIds), Value(entryAccounts), Value(entryAmounts), Value(entryBalances)));
        batch.BatchCommands.Add(Command(UpdateBalancesSql, Value(deltaAccounts), Value(deltas)));
        foreach (var command in outboxCommands)
        {
            batch.BatchCommands.Add(command);
        }
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            sequences[reader.GetGuid(0)] = reader.GetInt64(1);
        }
    }

    /// <summary>Every user wallet each transfer touched, in ledger order, in WalletsChanged events of up to 1,000 changes.</summary>
    private static IIntegrationEvent[] WalletChanges(BatchPlan plan, DateTimeOffset occurredAt)
    {
        var changes = new List<WalletChange>();
        foreach (var planned in plan.Transfers)
        {
            foreach (var posting in planned.Postings)
            {
                if (posting.Account.Kind == LedgerAccountKind.User)
                {
                    changes.Add(new WalletChange(posting.Account.Owner!.Value, planned.Transfer.TransferId, posting.AmountMinor,
                        posting.BalanceAfterMinor, planned.Transfer.Reason, planned.Transfer.Reference));
                }
            }
        }
        return [.. changes.Chunk(WalletsChanged.MaxChanges).Select(chunk => new WalletsChanged(chunk, occurredAt))];
    }

    private static TransferOutcome[] Outcomes(
        IReadOnlyList<(string RequestedId, LedgerTransfer? Transfer, string? Error)> validated,
        BatchPlan plan,
        Dictionary<Guid, long> sequences,
        DateTimeOffset createdAt)
    {
        var committed = plan.Transfers
            .Select(p => new CommittedTransfer(p.Transfer.TransferId, sequences[p.Transfer.TransferId], p.Transfer.Reason, p.Transfer.Reference, createdAt, p.Postings))
            .ToArray();
        var outcomes = new TransferOutcome[plan.Decisions.Count];
        for (var i = 0; i < outcomes.Length; i++)
        {
            var decision = plan.Decisions[i];
            var requestedId = validated[i].RequestedId;
            outcomes[i] = decision.Outcome ?? (decision.IsDuplicate
                ? TransferOutcome.Duplicate(requestedId, committed[decision.PlannedIndex])
                : TransferOutcome.Applied(requestedId, committed[decision.PlannedIndex]));
        }
        return outcomes;
    }

    private async Task CreateAccountsAsync(IReadOnlySet<LedgerAccountId> accounts, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await CreateAccountsAsync(connection, null, accounts, cancellationToken);
    }

    private static async Task CreateAccountsAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, IReadOnlyCollection<LedgerAccountId> accounts, CancellationToken cancellationToken)
    {
        var ordered = accounts.OrderBy(a => a.Code, StringComparer.Ordinal).ToArray();
        await using var command = new NpgsqlCommand(CreateAccountsSql, connection, transaction);
        command.Parameters.Add(Value<string[]>([.. ordered.Select(a => a.Code)]));
        command.Parameters.Add(Value<string[]>([.. ordered.Select(a => a.StoredKind)]));
        command.Parameters.Add(Value<Guid?[]>([.. ordered.Select(a => a.Owner)]));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Whether a transfer with this id was applied, as the caller's transaction sees it.</summary>
    public static async Task<bool> IsAppliedAsync(NpgsqlTransaction transaction, Guid transferId, CancellationToken cancellationToken)
    {
        await using var select = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM ledger_transfers WHERE transfer_id = $1)", transaction.Connection, transaction);
        select.Parameters.Add(Value(transferId));
        return await select.ExecuteScalarAsync(cancellationToken) is true;
    }

    /// <summary>An account that was never used has a balance of zero.</summary>
    public async Task<long> GetBalanceAsync(LedgerAccountId account, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand("SELECT balance FROM ledger_accounts WHERE code = $1");
        command.Parameters.Add(Value(account.Code));
        return await command.ExecuteScalarAsync(cancellationToken) is long balance ? balance : 0;
    }

    /// <summary>
    /// The account's entries, newest first, strictly older than <paramref name="before"/> when given.
    /// Transfers on one account hold its row lock while they take their sequence number, so an account's
    /// sequence order is its commit order and paging never skips an entry that commits later.
    /// </summary>
    public async Task<LedgerHistoryPage> GetHistoryAsync(LedgerAccountId account, long? before, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, LedgerHistoryPage.MaxLimit);

        // The pool escrow on the other side of a line (a stake, payout or refund) tells the player which pool it was;
        // one probe of the entries' primary key per line of the page.
        await using var command = dataSource.CreateCommand($"""
            SELECT t.seq, t.transfer_id, t.reason, t.reference, t.created_at, e.amount, e.balance_after,
                   (SELECT o.code FROM ledger_entries oe JOIN ledger_accounts o ON o.id = oe.account_id
                    WHERE oe.transfer_seq = e.transfer_seq AND oe.account_id <> e.account_id AND o.code LIKE '{LedgerAccountId.PoolEscrowPrefix}%'
                    LIMIT 1)
            FROM ledger_accounts a
            JOIN ledger_entries e ON e.account_id = a.id
            JOIN ledger_transfers t ON t.seq = e.transfer_seq
            WHERE a.code = $1 AND e.transfer_seq < $2
            ORDER BY e.transfer_seq DESC
            LIMIT $3
            """);
        command.Parameters.Add(Value(account.Code));
        command.Parameters.Add(Value(before ?? long.MaxValue));
        command.Parameters.Add(Value(limit + 1));

        var entries = new List<LedgerHistoryEntry>(limit + 1);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var pool = !reader.IsDBNull(7) && LedgerAccountId.TryParse(reader.GetString(7), out var escrow) ? escrow.Owner : null;
            entries.Add(new LedgerHistoryEntry(reader.GetInt64(0), reader.GetGuid(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.GetFieldValue<DateTimeOffset>(4), reader.GetInt64(5), reader.GetInt64(6), pool));
        }

        // One row beyond the limit says whether an older page exists without a count query.
        if (entries.Count <= limit)
        {
            return new LedgerHistoryPage(entries, null);
        }
        entries.RemoveAt(limit);
        return new LedgerHistoryPage(entries, entries[^1].Sequence);
    }

    private static async Task ReadTransfersAsync(NpgsqlDataReader reader, Dictionary<Guid, CommittedTransfer> stored, CancellationToken cancellationToken)
    {
        var rows = new Dictionary<Guid, (long Seq, string Reason, string? Reference, DateTimeOffset CreatedAt, List<CommittedPosting> Postings)>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var id = reader.GetGuid(0);
            if (!rows.TryGetValue(id, out var row))
            {
                row = (reader.GetInt64(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetFieldValue<DateTimeOffset>(4), []);
                rows[id] = row;
            }
            row.Postings.Add(new CommittedPosting(LedgerAccountId.Parse(reader.GetString(5)), reader.GetInt64(6), reader.GetInt64(7)));
        }
        foreach (var (id, row) in rows)
        {
            stored[id] = new CommittedTransfer(id, row.Seq, row.Reason, row.Reference, row.CreatedAt,
                [.. row.Postings.OrderBy(p => p.Account.Code, StringComparer.Ordinal)]);
        }
    }

    private static NpgsqlBatchCommand Command(string sql, params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.AddRange(parameters);
        return command;
    }

    private static NpgsqlParameter<T> Value<T>(T value) => new() { TypedValue = value };

    [LoggerMessage(EventId = 1, EventName = "LedgerBatchRetried", Level = LogLevel.Information,
        Message = "Ledger batch attempt {Attempt} conflicted with a concurrent batch ({SqlState}); retrying")]
    private static partial void LogRetry(ILogger logger, int attempt, string sqlState);
}
