using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Threading.Channels;
using Grpc.Core;
using Microsoft.Extensions.Options;
using StreamBets.Contracts.Bets;
using StreamBets.Contracts.Pools;
using StreamBets.Contracts.Wallet;
using StreamBets.Settlement.Data;
using BetEngineClient = StreamBets.Contracts.Bets.BetEngine.BetEngineClient;
using PoolsClient = StreamBets.Contracts.Pools.Pools.PoolsClient;
using WalletClient = StreamBets.Contracts.Wallet.Wallet.WalletClient;

namespace StreamBets.Settlement.Payouts;

/// <summary>
/// Runs one pool's settlement from start to end, in constant memory whatever the pool's size:
/// <list type="number">
/// <item>the Bet Engine streams the pool's accepted bets (StreamPoolBets): totals first, then chunks in bet_id order;</item>
/// <item>they go on, as they come, into Pools.CalculatePayouts (totals declared first; several chunks in flight), which
/// answers each chunk with its payouts;</item>
/// <item>each answered chunk is paid in slices: ONE Wallet.TransferBatch per slice (escrow → user, transfer id
/// <c>payout:{betId}</c>), then ONE settlementdb transaction records the slice's bets and announces them in BetsSettled events;</item>
/// <item>once Pools' summary arrived and its call ended OK: rake and breakage leave the escrow, and the settlement is
/// marked settled with PoolSettled in the same transaction.</item>
/// </list>
/// Every transfer id derives from the bet (or pool), so a rerun after a crash anywhere moves nothing twice: the ledger
/// answers DUPLICATE for what moved. A rerun also skips the payments of bets already recorded.
/// </summary>
public sealed partial class PoolSettlementRun(
    BetEngineClient betEngine, PoolsClient pools, WalletClient wallet, SettlementStore store, TimeProvider time,
    IOptions<SettlementOptions> options, ILogger<PoolSettlementRun> logger)
{
    public const string PayoutReason = "payout";
    public const string RefundReason = "refund";
    public const string RakeReason = "rake";
    public const string BreakageReason = "breakage";
    public const string HouseRakeAccount = "house:rake";
    public const string HouseBreakageAccount = "house:breakage";
    private const int GuidBytes = 16;

    public static string EscrowAccount(Guid poolId) => $"escrow:pool:{poolId}";

    public static string UserAccount(Guid userId) => $"user:{userId}";

    public static Guid PayoutTransferId(Guid betId) => WalletTransferIds.FromName($"payout:{betId}");

    public static Guid RakeTransferId(Guid poolId) => WalletTransferIds.FromName($"settlement:{poolId}:rake");

    public static Guid BreakageTransferId(Guid poolId) => WalletTransferIds.FromName($"settlement:{poolId}:breakage");

    /// <summary>Settles the pool, or throws: <see cref="SettlementFailures.IsTransient"/> tells a retry from a stop.</summary>
    public async Task<SettlementSummary> RunAsync(SettlementRecord settlement, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var poolId = settlement.PoolId;
        using var failFast = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var token = failFast.Token;

        // 1. The bets, from one snapshot of betsdb: totals first. The chunk size within what the Bet Engine and Pools
        // accept: out of range, the Bet Engine answers InvalidArgument, which no retry fixes, and every settlement fails.
        var chunkSize = Math.Clamp(settings.BetsPerChunk, 1, 10_000);
        using var bets = betEngine.StreamPoolBets(
            new StreamPoolBetsRequest { PoolId = poolId.ToString(), MaxBetsPerChunk = chunkSize }, cancellationToken: token);
        var betStream = new IdleBoundedStream<PoolBetsChunk>(bets.ResponseStream, "The Bet Engine", settings.StreamIdleTimeout, time);
        if (!await betStream.MoveNext(token) || betStream.Current.ItemCase != PoolBetsChunk.ItemOneofCase.Totals)
        {
            throw new SettlementRefusedException("bad-bets-stream", "The Bet Engine's stream did not start with the pool's totals.");
        }

        var totals = betStream.Current.Totals;
        if (!await store.DeclareAsync(poolId, Canonical(totals), totals.BetCount, totals.TotalStakeMinor, token))
        {
            throw new SettlementRefusedException("bets-changed",
                $"The pool's accepted bets are not those an earlier run of this settlement saw (now {Canonical(totals)}); paying them could pay a bet twice with two amounts.");
        }

        // A rerun looks up which bets are already recorded; a first run has none, and skips the lookups.
        var resumed = settlement.SettledBets > 0;
        Activity.Current?.SetTag("streambets.settlement.bet_count", totals.BetCount);
        Activity.Current?.SetTag("streambets.settlement.resumed", resumed);

        // 2. Payouts from Pools, chunk by chunk.
        using var payouts = pools.CalculatePayouts(cancellationToken: token);
        var start = new PayoutsStart { PoolId = poolId.ToString() };
        start.Outcomes.AddRange(totals.Outcomes.Select(o => new DeclaredOutcome { OutcomeId = o.OutcomeId, StakeMinor = o.StakeMinor, BetCount = o.BetCount }));
        await payouts.RequestStream.WriteAsync(new CalculatePayoutsRequest { Start = start }, token);

        var sent = Channel.CreateBounded<PoolBetColumns>(Math.Max(1, settings.ChunksInFlight));
        var toPay = Channel.CreateBounded<(PoolBetColumns Bets, PayoutChunk Payouts)>(Math.Max(1, settings.PaymentConcurrency));
        var tally = new Tally();

        var payoutStream = new IdleBoundedStream<CalculatePayoutsResponse>(payouts.ResponseStream, "Pools", settings.StreamIdleTimeout, time);
        var sender = Task.Run(() => SendAsync(betStream, payouts.RequestStream, sent.Writer, token), token);
        var receiver = Task.Run(() => ReceiveAsync(payoutStream, sent.Reader, toPay.Writer, tally, token), token);
        var payers = Enumerable.Range(0, Math.Max(1, settings.PaymentConcurrency))
            .Select(_ => Task.Run(() => PayAsync(poolId, toPay.Reader, resumed, tally, token, cancellationToken), token))
            .ToArray();

        await WhenAllOrFirstFailureAsync([sender, receiver, .. payers], failFast, cancellationToken);

        // 3. Pools summed up and ended its call OK: the lines are final. Cross-check before the house takes its share.
        var summary = tally.Summary ?? throw new SettlementRefusedException("bad-payouts-stream", "Pools ended the call without a summary.");
        if (summary.BetCount != totals.BetCount || tally.Bets != totals.BetCount || summary.TotalMinor != totals.TotalStakeMinor
            || summary.PaidMinor != tally.PaidMinor || summary.PaidMinor + summary.RakeMinor + summary.BreakageMinor != summary.TotalMinor)
        {
            throw new SettlementRefusedException("summary-mismatch", string.Create(CultureInfo.InvariantCulture,
                $"Bets {totals.BetCount} declared, {tally.Bets} paid, {summary.BetCount} summed by Pools; total {totals.TotalStakeMinor} vs {summary.TotalMinor}; paid {tally.PaidMinor} vs {summary.PaidMinor} (+ rake {summary.RakeMinor} + breakage {summary.BreakageMinor})."));
        }

        var house = new List<TransferRequest>(2);
        if (summary.RakeMinor > 0)
        {
            house.Add(EscrowTransfer(RakeTransferId(poolId), RakeReason, $"pool:{poolId}", poolId, HouseRakeAccount, summary.RakeMinor));
        }
        if (summary.BreakageMinor > 0)
        {
            house.Add(EscrowTransfer(BreakageTransferId(poolId), BreakageReason, $"pool:{poolId}", poolId, HouseBreakageAccount, summary.BreakageMinor));
        }
        if (house.Count > 0)
        {
            await TransferAllAsync(house, token);
        }

        return summary;
    }

    /// <summary>
    /// Waits for every task; the first failure cancels the others (nothing keeps paying after a refusal) and is what
    /// the caller sees, not the cancellations it caused.
    /// </summary>
    private static async Task WhenAllOrFirstFailureAsync(Task[] tasks, CancellationTokenSource failFast, CancellationToken cancellationToken)
    {
        Exception? first = null;
        foreach (var task in tasks)
        {
            _ = task.ContinueWith(t =>
            {
                if (t.IsFaulted)
                {
                    Interlocked.CompareExchange(ref first, t.Exception!.GetBaseException(), null);
                    failFast.Cancel();
                }
            }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        try
        {
            await Task.WhenAll(tasks);
        }
        catch when (first is not null && !cancellationToken.IsCancellationRequested)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(first);
        }
    }

    /// <summary>The pool's escrow after settling: 0 unless money arrived that no settled bet accounts for.</summary>
    public async Task<long> EscrowBalanceAsync(Guid poolId, CancellationToken cancellationToken) =>
        (await wallet.GetBalanceAsync(new GetBalanceRequest { Account = EscrowAccount(poolId) },
            deadline: time.GetUtcNow().UtcDateTime + options.Value.PaymentTimeout, cancellationToken: cancellationToken)).BalanceMinor;

    /// <summary>Bet chunks from the Bet Engine to Pools; each is queued for pairing with its answer before it is sent.</summary>
    private static async Task SendAsync(
        IAsyncStreamReader<PoolBetsChunk> bets, IClientStreamWriter<CalculatePayoutsRequest> payouts, ChannelWriter<PoolBetColumns> sent, CancellationToken token)
    {
        try
        {
            long sequence = 0;
            while (await bets.MoveNext(token))
            {
                if (bets.Current.ItemCase != PoolBetsChunk.ItemOneofCase.Bets)
                {
                    throw new SettlementRefusedException("bad-bets-stream", "The Bet Engine sent a second `totals`.");
                }

                var columns = bets.Current.Bets;
                var count = columns.StakeMinor.Count;
                if (columns.OutcomeIndex.Count != count || columns.BetIds.Length != count * GuidBytes || columns.UserIds.Length != count * GuidBytes)
                {
                    throw new SettlementRefusedException("bad-bets-stream", $"Chunk {sequence} of the Bet Engine's stream has columns of different lengths.");
                }

                await sent.WriteAsync(columns, token);
                var chunk = new BetChunk { Sequence = sequence++, BetIds = columns.BetIds };
                chunk.OutcomeIndex.AddRange(columns.OutcomeIndex);
                chunk.StakeMinor.AddRange(columns.StakeMinor);
                await payouts.WriteAsync(new CalculatePayoutsRequest { Bets = chunk }, token);
            }
            await payouts.CompleteAsync();
            sent.Complete();
        }
        catch (Exception e)
        {
            sent.TryComplete(e);
            throw;
        }
    }

    /// <summary>Pools' answers, paired with the chunks they answer (Pools answers in order), handed to the payers.</summary>
    private static async Task ReceiveAsync(
        IAsyncStreamReader<CalculatePayoutsResponse> payouts, ChannelReader<PoolBetColumns> sent, ChannelWriter<(PoolBetColumns, PayoutChunk)> toPay,
        Tally tally, CancellationToken token)
    {
        try
        {
            long expected = 0;
            while (await payouts.MoveNext(token))
            {
                var response = payouts.Current;
                if (response.ItemCase == CalculatePayoutsResponse.ItemOneofCase.Summary)
                {
                    var s = response.Summary;
                    tally.Summary = new SettlementSummary(
                        BasisName(s.Basis), s.TotalMinor, s.PaidMinor, s.RakeMinor, s.BreakageMinor, s.BetCount, s.WinningBets, s.RefundedBets);
                    continue;
                }

                var chunk = response.Payouts;
                if (tally.Summary is not null || chunk.Sequence != expected || !sent.TryRead(out var bets)
                    || chunk.PayoutMinor.Count != bets.StakeMinor.Count || chunk.Kind.Count != bets.StakeMinor.Count)
                {
                    throw new SettlementRefusedException("bad-payouts-stream", $"Pools answered chunk {chunk.Sequence} out of order or with the wrong length (expected chunk {expected}).");
                }
                expected++;
                await toPay.WriteAsync((bets, chunk), token);
            }

            // The call ended with OK (MoveNext throws otherwise): every line is final.
            toPay.Complete();
        }
        catch (Exception e)
        {
            toPay.TryComplete(e);
            throw;
        }
    }

    /// <summary>
    /// Pays answered chunks in slices: one TransferBatch, then one settlementdb transaction, per slice. A failure elsewhere
    /// (<paramref name="token"/>) stops it between slices; only a shutdown cuts a slice between its payment and its record.
    /// </summary>
    private async Task PayAsync(
        Guid poolId, ChannelReader<(PoolBetColumns Bets, PayoutChunk Payouts)> toPay, bool resumed, Tally tally, CancellationToken token, CancellationToken shutdown)
    {
        var sliceSize = Math.Clamp(options.Value.BetsPerPayment, 1, 10_000);
        await foreach (var (bets, payouts) in toPay.ReadAllAsync(token))
        {
            using var activity = SettlementTelemetry.Source.StartActivity("settle chunk");
            activity?.SetTag("streambets.pool_id", poolId);
            activity?.SetTag("streambets.settlement.chunk", payouts.Sequence);
            activity?.SetTag("streambets.settlement.chunk_size", bets.StakeMinor.Count);
            for (var from = 0; from < bets.StakeMinor.Count; from += sliceSize)
            {
                token.ThrowIfCancellationRequested();
                await PaySliceAsync(poolId, bets, payouts, from, Math.Min(from + sliceSize, bets.StakeMinor.Count), resumed, tally, shutdown);
            }
        }
    }

    private async Task PaySliceAsync(
        Guid poolId, PoolBetColumns bets, PayoutChunk payouts, int from, int to, bool resumed, Tally tally, CancellationToken token)
    {
        var lines = new SettledBet[to - from];
        var betIds = new Guid[to - from];
        long paid = 0;
        for (var i = from; i < to; i++)
        {
            var betId = new Guid(bets.BetIds.Span.Slice(i * GuidBytes, GuidBytes), bigEndian: true);
            var userId = new Guid(bets.UserIds.Span.Slice(i * GuidBytes, GuidBytes), bigEndian: true);
            var payout = payouts.PayoutMinor[i];
            if (payout < 0)
            {
                throw new SettlementRefusedException("bad-payouts-stream", $"Pools answered a negative payout for bet {betId}.");
            }
            betIds[i - from] = betId;
            lines[i - from] = new SettledBet(betId, userId, ResultName(payouts.Kind[i]), bets.StakeMinor[i], payout);
            paid += payout;
        }
        tally.Add(lines.Length, paid);

        var alreadySettled = resumed ? await store.SettledAmongAsync(betIds, token) : null;
        var transfers = new List<TransferRequest>(lines.Length);
        var payees = new List<Guid>(lines.Length);
        foreach (var line in lines)
        {
            if (line.PayoutMinor > 0 && alreadySettled?.Contains(line.BetId) != true)
            {
                payees.Add(line.BetId);
                transfers.Add(EscrowTransfer(PayoutTransferId(line.BetId), TransferReason(line.Result),
                    $"bet:{line.BetId}", poolId, UserAccount(line.UserId), line.PayoutMinor));
            }
        }

        var refused = transfers.Count > 0 ? await TransferAsync(transfers, token) : [];

        // The ledger applies each transfer by itself: the others of a slice with a refused one moved, and are recorded
        // before the run fails, so settled_bets stays the proof of every payout that moved.
        var refusedBets = refused.Select(r => payees[r.Index]).ToHashSet();
        var unrecorded = lines.Where(l => alreadySettled?.Contains(l.BetId) != true && !refusedBets.Contains(l.BetId)).ToArray();
        if (unrecorded.Length > 0)
        {
            var recorded = await store.RecordSettledAsync(poolId, unrecorded, time.GetUtcNow(), token);
            foreach (var result in recorded.GroupBy(b => b.Result))
            {
                SettlementTelemetry.BetsSettled.Add(result.Count(), new KeyValuePair<string, object?>("result", result.Key));
            }
            // Paid money is counted as its bets are recorded, once whichever run records them, not from the ledger's
            // answers: a rerun's replayed payments answer DUPLICATE, and a crashed run's APPLIED answers were lost. Its
            // reason is the transfers' own: a refund is not a payout.
            foreach (var reason in recorded.Where(b => b.PayoutMinor > 0).GroupBy(b => TransferReason(b.Result)))
            {
                SettlementTelemetry.PaidMinor.Add(reason.Sum(b => b.PayoutMinor), new KeyValuePair<string, object?>("reason", reason.Key));
            }
        }

        if (refused.Count > 0)
        {
            throw refused[0].Refusal;
        }
    }

    /// <summary>The house's transfers, recorded only by the settled status: any refusal stops the run (a rerun replays the other as DUPLICATE).</summary>
    private async Task TransferAllAsync(List<TransferRequest> transfers, CancellationToken token)
    {
        if (await TransferAsync(transfers, token) is [var first, ..])
        {
            throw first.Refusal;
        }
    }

    /// <summary>
    /// One TransferBatch; APPLIED (now) and DUPLICATE (by an earlier run) both mean the money moved. Returns the
    /// transfers the ledger refused (each logged), by their index in <paramref name="transfers"/>: the others moved all the same.
    /// </summary>
    private async Task<List<(int Index, SettlementRefusedException Refusal)>> TransferAsync(List<TransferRequest> transfers, CancellationToken token)
    {
        var request = new TransferBatchRequest { OmitTransfers = true };
        request.Transfers.AddRange(transfers);
        var reply = await wallet.TransferBatchAsync(request, deadline: time.GetUtcNow().UtcDateTime + options.Value.PaymentTimeout, cancellationToken: token);
        if (reply.Results.Count != transfers.Count)
        {
            throw new SettlementRefusedException("bad-wallet-answer", $"Wallet.TransferBatch answered {reply.Results.Count} results for {transfers.Count} transfers.");
        }

        var refused = new List<(int, SettlementRefusedException)>();
        for (var i = 0; i < reply.Results.Count; i++)
        {
            var result = reply.Results[i];
            if (result.Status is not (TransferStatus.Applied or TransferStatus.Duplicate))
            {
                var transfer = transfers[i];
                LogPaymentRefused(logger, transfer.TransferId, transfer.Reference, result.Status, result.ErrorReason, result.ErrorDetail);
                refused.Add((i, new SettlementRefusedException("payment-refused",
                    $"The ledger refused transfer {transfer.TransferId} ({transfer.Reference}, {transfer.Legs.Sum(l => l.AmountMinor)} to {transfer.Legs[0].ToAccount}): {result.Status} {result.ErrorReason} {result.ErrorDetail}".TrimEnd())));
            }
        }
        return refused;
    }


    /// <summary>
    /// One transfer out of the pool's escrow. An amount above what one leg carries (a pool of several bets at the ledger's
    /// per-bet maximum) goes in several legs of the same transfer: the ledger nets them into one posting per account, so
    /// the transfer, its id and its replay stay one. Beyond 256 legs (2.56 * 10^17) the ledger refuses it and the run stops.
    /// </summary>
    private static TransferRequest EscrowTransfer(Guid transferId, string reason, string reference, Guid poolId, string to, long amountMinor)
    {
        var transfer = new TransferRequest { TransferId = transferId.ToString(), Reason = reason, Reference = reference };
        for (var left = amountMinor; left > 0; left -= LedgerLimits.MaxLegAmountMinor)
        {
            transfer.Legs.Add(new Leg { FromAccount = EscrowAccount(poolId), ToAccount = to, AmountMinor = Math.Min(left, LedgerLimits.MaxLegAmountMinor) });
        }
        return transfer;
    }

    /// <summary>"outcome:stake:count" per backed outcome, sorted: equal strings mean equal bets to pay.</summary>
    internal static string Canonical(PoolBetTotals totals)
    {
        var text = new StringBuilder();
        foreach (var outcome in totals.Outcomes.OrderBy(o => o.OutcomeId, StringComparer.Ordinal))
        {
            text.Append(CultureInfo.InvariantCulture, $"{outcome.OutcomeId}:{outcome.StakeMinor}:{outcome.BetCount};");
        }
        return text.ToString();
    }

    /// <summary>The reason of a bet's transfer (and of its paid metric): its stake back is a refund, anything else a payout.</summary>
    private static string TransferReason(string result) => result == "refunded" ? RefundReason : PayoutReason;

    private static string ResultName(SettlementKind kind) => kind switch
    {
        SettlementKind.Win => "won",
        SettlementKind.Loss => "lost",
        SettlementKind.Refund => "refunded",
        _ => throw new SettlementRefusedException("bad-payouts-stream", $"Pools answered an unknown settlement kind {kind}."),
    };

    private static string BasisName(SettlementBasis basis) => basis switch
    {
        SettlementBasis.Parimutuel => "parimutuel",
        SettlementBasis.NoStakeOnWinner => "no-stake-on-winner",
        SettlementBasis.NoStakeOnLosers => "no-stake-on-losers",
        SettlementBasis.Cancelled => "cancelled",
        _ => "unspecified",
    };

    /// <summary>
    /// A server stream whose every next message must come within <paramref name="idleTimeout"/>, or the run fails as a
    /// transient <see cref="TimeoutException"/> and is retried. A peer host that vanished without closing its connection
    /// sends no error either, and its stream would otherwise never end.
    /// </summary>
    private sealed class IdleBoundedStream<T>(IAsyncStreamReader<T> stream, string peer, TimeSpan idleTimeout, TimeProvider time) : IAsyncStreamReader<T>
    {
        public T Current => stream.Current;

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            using var idle = new CancellationTokenSource(idleTimeout, time);
            using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, idle.Token);
            try
            {
                return await stream.MoveNext(either.Token);
            }
            catch (Exception e) when (idle.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException(string.Create(CultureInfo.InvariantCulture,
                    $"{peer} sent nothing for {idleTimeout.TotalSeconds:0.#} s: its host is gone or stuck."), e);
            }
        }
    }

    /// <summary>What the run counted so far, shared by its tasks.</summary>
    private sealed class Tally
    {
        private long _bets;
        private long _paid;

        public long Bets => Interlocked.Read(ref _bets);

        public long PaidMinor => Interlocked.Read(ref _paid);

        public SettlementSummary? Summary { get; set; }

        public void Add(long bets, long paid)
        {
            Interlocked.Add(ref _bets, bets);
            Interlocked.Add(ref _paid, paid);
        }
    }

    [LoggerMessage(EventId = 10, EventName = "PaymentRefused", Level = LogLevel.Error,
        Message = "The ledger refused settlement transfer {TransferId} ({Reference}): {Status} {Reason} {Detail}")]
    private static partial void LogPaymentRefused(ILogger logger, string transferId, string reference, TransferStatus status, string reason, string detail);
}
