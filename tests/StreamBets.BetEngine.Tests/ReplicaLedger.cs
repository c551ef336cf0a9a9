using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using StreamBets.BetEngine.Ledger;
using StreamBets.BetEngine.Placement;
using StreamBets.Contracts.Wallet;

namespace StreamBets.BetEngine.Tests;

/// <summary>What the ledger connection of one replica does to its next TransferBatch call.</summary>
public enum LedgerFault
{
    None,

    /// <summary>The call fails before it reaches the ledger (a refused connection, a deadline spent on the way): nothing applied.</summary>
    FailBeforeApplying,

    /// <summary>The ledger applies the call, and its answer is lost (a timeout, a broken connection, the caller dying).</summary>
    LoseAnswerAfterApplying,

    /// <summary>Every refund of the call is answered REJECTED (a frozen account) and never reaches the ledger.</summary>
    RefuseRefunds,

    /// <summary>The call waits before it reaches the ledger until the test lets it go (<see cref="ReplicaLedger.Hold"/>).</summary>
    HoldBeforeApplying,

    /// <summary>The ledger applies the call, and its answer waits until the test lets it go: a replica stalled past the grace
    /// period, with its stakes in escrow.</summary>
    HoldAfterApplying,
}

/// <summary>
/// The Users ledger as one Bet Engine replica reaches it: the real ledger (the stack's own wallet client, which no other
/// interceptor sits on), with faults the test queues call by call. Each replica of <see cref="BetEngineReplica"/> has its
/// own, so one can stall while another runs.
/// </summary>
public sealed class ReplicaLedger(Wallet.WalletClient ledger) : Wallet.WalletClient
{
    private readonly Queue<(Func<TransferBatchRequest, bool> When, LedgerFault Fault, Hold? Hold)> _faults = new();

    private readonly List<(TransferBatchRequest Request, LedgerFault Fault)> _calls = [];

    /// <summary>Every TransferBatch this replica sent so far, in order, with the fault it met.</summary>
    public IReadOnlyList<(TransferBatchRequest Request, LedgerFault Fault)> Calls
    {
        get
        {
            lock (_faults)
            {
                return [.. _calls];
            }
        }
    }

    /// <summary>Applies <paramref name="fault"/> to the next call (of stakes only, or refunds only, when <paramref name="kind"/>
    /// says; into or out of one pool's escrow when <paramref name="poolId"/> does, so other tests' leftovers do not take it).</summary>
    public void Next(LedgerFault fault, CallKind kind = CallKind.Any, Guid? poolId = null)
    {
        if (fault is LedgerFault.HoldBeforeApplying or LedgerFault.HoldAfterApplying)
        {
            throw new ArgumentException("Use Hold for a held call.", nameof(fault));
        }
        Enqueue(kind, poolId, fault, null);
    }

    /// <summary>Holds the next call (of the given kind and pool) before or after the ledger applies it, until the test releases it.</summary>
    public Hold Hold(LedgerFault where, CallKind kind = CallKind.Any, Guid? poolId = null)
    {
        var hold = new Hold();
        Enqueue(kind, poolId, where, hold);
        return hold;
    }

    /// <summary>Forgets faults no call met (a round that had nothing to send).</summary>
    public void Clear()
    {
        lock (_faults)
        {
            foreach (var (_, _, hold) in _faults)
            {
                hold?.Release();
            }
            _faults.Clear();
        }
    }

    private void Enqueue(CallKind kind, Guid? poolId, LedgerFault fault, Hold? hold)
    {
        var escrow = poolId is { } pool ? StakeLedger.EscrowAccount(pool) : null;
        bool when(TransferBatchRequest r) => kind switch
        {
            CallKind.Stakes => r.Transfers.All(t => t.Reason == StakeLedger.StakeReason),
            CallKind.Refunds => r.Transfers.All(t => t.Reason == StakeLedger.RefundReason),
            _ => true,
        } && (escrow is null || r.Transfers.Any(t => t.Legs.Any(l => l.FromAccount == escrow || l.ToAccount == escrow)));
        lock (_faults)
        {
            _faults.Enqueue((when, fault, hold));
        }
    }

    public override AsyncUnaryCall<TransferBatchReply> TransferBatchAsync(TransferBatchRequest request, CallOptions options)
    {
        (LedgerFault Fault, Hold? Hold) next = (LedgerFault.None, null);
        lock (_faults)
        {
            if (_faults.TryPeek(out var queued) && queued.When(request))
            {
                _faults.Dequeue();
                next = (queued.Fault, queued.Hold);
            }
            _calls.Add((request, next.Fault));
        }
        return new AsyncUnaryCall<TransferBatchReply>(AnswerAsync(request, options, next.Fault, next.Hold),
            Task.FromResult(new Metadata()), () => Status.DefaultSuccess, () => [], () => { });
    }

    private async Task<TransferBatchReply> AnswerAsync(TransferBatchRequest request, CallOptions options, LedgerFault fault, Hold? hold)
    {
        switch (fault)
        {
            case LedgerFault.FailBeforeApplying:
                throw new RpcException(new Status(StatusCode.Unavailable, "The ledger was not reached (test)."));
            case LedgerFault.RefuseRefunds:
                return await RefuseRefundsAsync(request, options);
            case LedgerFault.HoldBeforeApplying:
                hold!.SetReached();
                if (!await hold.Released)
                {
                    throw new RpcException(new Status(StatusCode.DeadlineExceeded, "The call never reached the ledger (test)."));
                }
                return await ledger.TransferBatchAsync(request, options);
        }

        var answer = await ledger.TransferBatchAsync(request, options);
        switch (fault)
        {
            case LedgerFault.LoseAnswerAfterApplying:
                throw new RpcException(new Status(StatusCode.DeadlineExceeded, "The ledger applied the call; its answer was lost (test)."));
            case LedgerFault.HoldAfterApplying:
                hold!.SetReached();
                if (!await hold.Released)
                {
                    throw new RpcException(new Status(StatusCode.DeadlineExceeded, "The ledger applied the call; its answer was lost (test)."));
                }
                break;
        }
        return answer;
    }

    private async Task<TransferBatchReply> RefuseRefundsAsync(TransferBatchRequest request, CallOptions options)
    {
        var refuse = request.Transfers.Select(t => t.Reason == StakeLedger.RefundReason).ToArray();
        var passed = new TransferBatchRequest { OmitTransfers = request.OmitTransfers };
        passed.Transfers.AddRange(request.Transfers.Where((_, i) => !refuse[i]));
        var applied = passed.Transfers.Count == 0 ? [] : (await ledger.TransferBatchAsync(passed, options)).Results.ToList();
        var reply = new TransferBatchReply();
        var next = 0;
        for (var i = 0; i < refuse.Length; i++)
        {
            reply.Results.Add(refuse[i]
                ? new TransferResult { TransferId = request.Transfers[i].TransferId, Status = TransferStatus.Rejected, ErrorReason = "account-frozen", ErrorDetail = "Refused by the test." }
                : applied[next++]);
        }
        return reply;
    }

    public enum CallKind
    {
        Any,
        Stakes,
        Refunds,
    }
}

/// <summary>A held ledger call: the test learns when it got there, then lets it go on or loses its answer.</summary>
public class Hold
{
    private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<bool> _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once the call is held (after the ledger applied it, for a hold after applying).</summary>
    public Task Reached => _reached.Task;

    internal Task<bool> Released => _released.Task;

    public void Release() => _released.TrySetResult(true);

    /// <summary>The call fails: its answer (or, held before applying, the call itself) never gets there.</summary>
    public void LoseAnswer() => _released.TrySetResult(false);

    internal void SetReached() => _reached.TrySetResult();
}

/// <summary>
/// Another Bet Engine replica over the same betsdb: its own ledger connection (<see cref="ReplicaLedger"/>), batch
/// pipeline and recoverer; the betsdb code (store, finalizer, outbox) is the stack's, as it is the same database.
/// A new one is also a restarted one: the Bet Engine keeps nothing about recovery in memory.
/// </summary>
public sealed class BetEngineReplica
{
    public BetEngineReplica(BetEngineStack stack, string name)
    {
        Name = name;
        Ledger = new ReplicaLedger(stack.Wallet);
        var stakes = new StakeLedger(Ledger);
        Pipeline = ActivatorUtilities.CreateInstance<BetBatchPipeline>(stack.BetEngine, stakes);
        Recovery = ActivatorUtilities.CreateInstance<PendingBetRecovery>(stack.BetEngine, stakes, Pipeline);
    }

    public string Name { get; }

    public ReplicaLedger Ledger { get; }

    public BetBatchPipeline Pipeline { get; }

    public PendingBetRecovery Recovery { get; }

    public override string ToString() => Name;
}
