using System.Data;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using Npgsql;

namespace StreamBets.Users.Ledger;

public sealed class LedgerAuditOptions
{
    public const string SectionName = "Ledger:Audit";

    /// <summary>How often a round runs.</summary>
    public TimeSpan Every { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// A pool's escrow still holding money this long after its last entry is stale: longer than a pool can stay locked
    /// before Pools auto-cancels it (at most 168 h, PoolDefinition.MaxAutoCancelAfter) plus a day for settlement or refunds.
    /// </summary>
    public TimeSpan StaleEscrowAfter { get; set; } = TimeSpan.FromDays(8);
}

/// <summary>What one audit round found, read from one snapshot of the ledger.</summary>
/// <param name="ImbalanceMinor">The sum of every account's balance: 0 in a double-entry ledger.</param>
/// <param name="DriftedAccountIds">Accounts whose balance is not the sum of their entries.</param>
/// <param name="StaleEscrowAccountIds">Pool escrows holding money with no entry for <see cref="LedgerAuditOptions.StaleEscrowAfter"/>.</param>
public sealed record LedgerAuditResult(long ImbalanceMinor, IReadOnlyList<long> DriftedAccountIds, IReadOnlyList<long> StaleEscrowAccountIds, DateTimeOffset At);

/// <summary>
/// Checks the ledger's invariants every <see cref="LedgerAuditOptions.Every"/> and reports them as gauges (sampled from
/// the last round, never a query per scrape): the balances sum to zero, each balance equals the sum of its account's
/// entries, and no pool escrow keeps money long after its pool must have finished. A hand "fix-up" of a balance breaks
/// the first two; nothing else would notice it.
/// <para>
/// Cost. Summing every account's entries each round reads the whole ledger (it grows with every bet), so the entry
/// sums are kept per account in memory and each round adds only the entries written since: one range scan of
/// ledger_entries' primary key by transfer_seq. Sequence numbers are taken at insert, not commit, so a transaction
/// still open can later fill a gap below the newest seq seen; entries are therefore folded into the kept sums only up to
/// the newest seq of the previous round, and only once every transaction open at that round's snapshot has ended
/// (this snapshot's xmin, the oldest transaction id still running, has passed a transaction id taken just after that
/// one's snapshot). That holds because a transfer's transaction has its xid before
/// it draws a seq: it locks its accounts (FOR UPDATE) before inserting the transfer (<see cref="LedgerStore"/>); a
/// writer drawing a seq first could take its xid after the snapshot and be missed. Entries above the fold are summed
/// afresh each round. A round then
/// costs one sequential read of ledger_accounts (id, balance: the balance sum and the comparison, which catches a
/// fix-up on an account no transfer touches), the entries
/// written since about the last round (read twice: once recent, once folded) and one index probe per nonzero escrow.
/// The first round after a start sums the whole ledger once; a transaction left open for long holds the fold back, so
/// rounds read more until it ends. Memory: one entry per account with entries. Measured in docs/users.md, "Ledger audit".
/// </para>
/// </summary>
public sealed partial class LedgerAudit : BackgroundService
{
    /// <summary>At most this many account ids are named in a warning.</summary>
    public const int MaxAccountsLogged = 5;

    private const string SnapshotSql = """
        SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint, (SELECT coalesce(max(seq), 0) FROM ledger_transfers)
        """;

    // A transaction id handed out after the round's snapshot, in a commit of its own: larger than the id of every
    // transaction that drew a seq up to the snapshot's newest. (The snapshot's own xmax is not: it is the last completed
    // id + 1, and a transaction with a larger id may be running, holding a seq below the newest.)
    private const string FenceSql = "SELECT pg_current_xact_id()::text::bigint";

    // Entries above the folded mark: those up to $2 are folded into the kept sums, the rest are summed for this round only.
    private const string EntrySumsSql = """
        SELECT account_id,
               coalesce(sum(amount) FILTER (WHERE transfer_seq <= $2), 0)::bigint,
               coalesce(sum(amount) FILTER (WHERE transfer_seq > $2), 0)::bigint
        FROM ledger_entries WHERE transfer_seq > $1
        GROUP BY account_id
        """;

    private const string AccountsSql = "SELECT id, balance FROM ledger_accounts";

    // Only escrows holding money are probed: the latest entry by the history index, its transfer by primary key.
    private const string StaleEscrowsSql = """
        SELECT a.id FROM ledger_accounts a
        LEFT JOIN LATERAL (
            SELECT t.created_at FROM ledger_entries e JOIN ledger_transfers t ON t.seq = e.transfer_seq
            WHERE e.account_id = a.id ORDER BY e.transfer_seq DESC LIMIT 1) latest ON true
        WHERE a.kind = 'pool_escrow' AND a.balance <> 0 AND coalesce(latest.created_at, a.created_at) < $1
        ORDER BY a.id
        """;

    private readonly NpgsqlDataSource _dataSource;
    private readonly LedgerAuditOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<LedgerAudit> _logger;
    private readonly SemaphoreSlim _round = new(1, 1);
    private readonly Dictionary<long, long> _foldedSums = [];
    private long _foldedThroughSeq;
    private (long Seq, long Fence)? _foldCandidate;
    private LedgerAuditResult? _last;

    public LedgerAudit(NpgsqlDataSource dataSource, IOptions<LedgerAuditOptions> options, TimeProvider time, IMeterFactory meterFactory, ILogger<LedgerAudit> logger)
    {
        (_dataSource, _options, _time, _logger) = (dataSource, options.Value, time, logger);
        // Users' ledger meter (as streambets.ledger.transfers); each gauge reports nothing until the first round ends.
        var meter = meterFactory.Create(LedgerStore.MeterName);
        meter.CreateObservableGauge("streambets.ledger.imbalance_minor", () => Sample(r => r.ImbalanceMinor),
            unit: "{minor_unit}", description: "Sum of every ledger account's balance at the last audit; anything but 0 is an error.");
        meter.CreateObservableGauge("streambets.ledger.drifted_accounts", () => Sample(r => r.DriftedAccountIds.Count),
            unit: "{account}", description: "Accounts whose balance differs from the sum of their entries at the last audit.");
        meter.CreateObservableGauge("streambets.ledger.stale_escrows", () => Sample(r => r.StaleEscrowAccountIds.Count),
            unit: "{account}", description: "Pool escrows holding money with no entry for longer than Ledger:Audit:StaleEscrowAfter, at the last audit.");
    }

    /// <summary>The last round's findings; null before the first round ends.</summary>
    public LedgerAuditResult? Last => Volatile.Read(ref _last);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        PeriodicRounds.RunAsync(_options.Every, _time, AuditAsync, e => LogAuditFailed(_logger, e), stoppingToken, firstRoundAtStart: true);

    /// <summary>One round: reads the ledger, keeps the findings for the gauges and logs what is wrong.</summary>
    public async Task<LedgerAuditResult> AuditAsync(CancellationToken cancellationToken)
    {
        await _round.WaitAsync(cancellationToken);
        try
        {
            var result = await ReadAsync(cancellationToken);
            Report(result); // before the round is published: whoever sees it (a test waiting on Last) finds its warnings
            Volatile.Write(ref _last, result);
            return result;
        }
        finally
        {
            _round.Release();
        }
    }

    private async Task<LedgerAuditResult> ReadAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        // One snapshot for every read: the balances and the entries agree whatever commits meanwhile.
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);
        await using (var readOnly = new NpgsqlCommand("SET TRANSACTION READ ONLY", connection, transaction))
        {
            await readOnly.ExecuteNonQueryAsync(cancellationToken);
        }

        long xmin, newestSeq;
        await using (var snapshot = new NpgsqlCommand(SnapshotSql, connection, transaction))
        await using (var reader = await snapshot.ExecuteReaderAsync(cancellationToken))
        {
            await reader.ReadAsync(cancellationToken);
            (xmin, newestSeq) = (reader.GetInt64(0), reader.GetInt64(1));
        }
        long fence;
        await using (var fenceCommand = _dataSource.CreateCommand(FenceSql))
        {
            fence = (long)(await fenceCommand.ExecuteScalarAsync(cancellationToken))!;
        }

        // Safe to fold: every transaction that could still add a seq up to the candidate's (ids up to its fence) had
        // ended before this snapshot (its xmin, the oldest id still running, is past the fence).
        var foldable = _foldCandidate is { } candidate && xmin > candidate.Fence;
        var foldThrough = foldable ? _foldCandidate!.Value.Seq : _foldedThroughSeq;
        var recentSums = new Dictionary<long, long>();
        var folded = new Dictionary<long, long>();
        await using (var sums = new NpgsqlCommand(EntrySumsSql, connection, transaction))
        {
            sums.Parameters.Add(new NpgsqlParameter { Value = _foldedThroughSeq });
            sums.Parameters.Add(new NpgsqlParameter { Value = foldThrough });
            await using var reader = await sums.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var account = reader.GetInt64(0);
                folded[account] = reader.GetInt64(1);
                recentSums[account] = reader.GetInt64(2);
            }
        }

        Int128 imbalance = 0;
        var drifted = new List<long>();
        await using (var accounts = new NpgsqlCommand(AccountsSql, connection, transaction))
        await using (var reader = await accounts.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var (id, balance) = (reader.GetInt64(0), reader.GetInt64(1));
                imbalance += balance;
                var entrySum = _foldedSums.GetValueOrDefault(id) + folded.GetValueOrDefault(id) + recentSums.GetValueOrDefault(id);
                if (balance != entrySum)
                {
                    drifted.Add(id);
                }
            }
        }

        var stale = new List<long>();
        await using (var escrows = new NpgsqlCommand(StaleEscrowsSql, connection, transaction))
        {
            escrows.Parameters.Add(new NpgsqlParameter { Value = now - _options.StaleEscrowAfter });
            await using var reader = await escrows.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                stale.Add(reader.GetInt64(0));
            }
        }
        await transaction.CommitAsync(cancellationToken);

        // Only a round that read everything moves the fold: a failed one leaves the kept sums as they were.
        foreach (var (account, sum) in folded)
        {
            _foldedSums[account] = _foldedSums.GetValueOrDefault(account) + sum;
        }
        _foldedThroughSeq = foldThrough;
        // A candidate waits until it is safe, however many rounds: replaced each round, one long transaction overlapping
        // every two rounds in a row would hold the fold back for ever.
        if (foldable || _foldCandidate is null)
        {
            _foldCandidate = (newestSeq, fence);
        }

        drifted.Sort();
        return new LedgerAuditResult(Saturated(imbalance), drifted, stale, now);
    }

    private static long Saturated(Int128 value) => value > long.MaxValue ? long.MaxValue : value < long.MinValue ? long.MinValue : (long)value;

    private IEnumerable<Measurement<long>> Sample(Func<LedgerAuditResult, long> value) =>
        Last is { } last ? [new Measurement<long>(value(last))] : [];

    private void Report(LedgerAuditResult result)
    {
        if (result.ImbalanceMinor != 0)
        {
            LogLedgerImbalanced(_logger, result.ImbalanceMinor);
        }
        if (result.DriftedAccountIds.Count > 0)
        {
            LogAccountsDrifted(_logger, result.DriftedAccountIds.Count, Named(result.DriftedAccountIds));
        }
        if (result.StaleEscrowAccountIds.Count > 0)
        {
            LogStaleEscrows(_logger, result.StaleEscrowAccountIds.Count, _options.StaleEscrowAfter, Named(result.StaleEscrowAccountIds));
        }
    }

    // Account ids only: a user's account code carries no more than its id, and the log names no player.
    private static string Named(IReadOnlyList<long> accountIds) => string.Join(", ", accountIds.Take(MaxAccountsLogged));

    [LoggerMessage(EventId = 400, EventName = "LedgerAuditFailed", Level = LogLevel.Warning, Message = "The ledger audit round failed; the gauges keep the last round's values until the next round")]
    private static partial void LogAuditFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 401, EventName = "LedgerImbalanced", Level = LogLevel.Warning,
        Message = "The ledger's balances sum to {ImbalanceMinor}, not 0: a balance was changed outside a transfer")]
    private static partial void LogLedgerImbalanced(ILogger logger, long imbalanceMinor);

    [LoggerMessage(EventId = 402, EventName = "LedgerAccountsDrifted", Level = LogLevel.Warning,
        Message = "{Count} ledger accounts hold a balance that is not the sum of their entries; account ids (at most 5): {AccountIds}")]
    private static partial void LogAccountsDrifted(ILogger logger, int count, string accountIds);

    [LoggerMessage(EventId = 403, EventName = "LedgerStaleEscrows", Level = LogLevel.Warning,
        Message = "{Count} pool escrows hold money with no entry for over {StaleAfter}; account ids (at most 5): {AccountIds}")]
    private static partial void LogStaleEscrows(ILogger logger, int count, TimeSpan staleAfter, string accountIds);
}
