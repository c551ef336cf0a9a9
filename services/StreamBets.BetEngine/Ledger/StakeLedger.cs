using Grpc.Core;
using StreamBets.BetEngine.Placement;
using StreamBets.Contracts.Wallet;

namespace StreamBets.BetEngine.Ledger;

/// <summary>What the ledger did with one bet's stake (or refund) transfer.</summary>
public enum StakeMovement
{
    /// <summary>Not sent to the ledger: the bet was refused before (e.g. a second outcome within the batch).</summary>
    NotSent,

    /// <summary>The money moved, now or by an earlier attempt with the same transfer id.</summary>
    Moved,

    InsufficientFunds,

    /// <summary>The ledger refused the transfer for another reason (see the result's reason).</summary>
    Refused,
}

public readonly record struct LedgerAnswer(StakeMovement Movement, string? Reason = null, string? Detail = null);

/// <summary>
/// Stakes and refunds through Users' Wallet.TransferBatch: one call per batch, every transfer answered on its own.
/// Transfer ids derive from bet ids (<see cref="BetTransferIds"/>), so replaying a call after a crash moves nothing twice:
/// the ledger answers DUPLICATE with the first result.
/// </summary>
public sealed class StakeLedger(Wallet.WalletClient wallet)
{
    public const string StakeReason = "bet-stake";
    public const string RefundReason = "bet-refund";
    private const int MaxTransfersPerCall = 10_000;
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(15);

    public static string UserAccount(Guid userId) => $"user:{userId}";

    public static string EscrowAccount(Guid poolId) => $"escrow:pool:{poolId}";

    /// <summary>Moves each bet's stake from the user's wallet to the pool's escrow.</summary>
    /// <exception cref="DependencyUnavailableException">The call failed: whether any transfer applied is unknown.</exception>
    public Task<IReadOnlyList<LedgerAnswer>> MoveStakesAsync(IReadOnlyList<PendingBet> bets, CancellationToken cancellationToken) =>
        TransferAsync(bets, bet => new TransferRequest
        {
            TransferId = bet.StakeTransferId.ToString(),
            Reason = StakeReason,
            Reference = $"bet:{bet.BetId}",
            Legs = { new Leg { FromAccount = UserAccount(bet.UserId), ToAccount = EscrowAccount(bet.PoolId), AmountMinor = bet.StakeMinor } },
        }, cancellationToken);

    /// <summary>Gives each bet's stake back from the pool's escrow.</summary>
    /// <exception cref="DependencyUnavailableException">The call failed: whether any refund applied is unknown.</exception>
    public Task<IReadOnlyList<LedgerAnswer>> RefundAsync(IReadOnlyList<PendingBet> bets, CancellationToken cancellationToken) =>
        TransferAsync(bets, bet => new TransferRequest
        {
            TransferId = BetTransferIds.Refund(bet.BetId).ToString(),
            Reason = RefundReason,
            Reference = $"bet:{bet.BetId}",
            Legs = { new Leg { FromAccount = EscrowAccount(bet.PoolId), ToAccount = UserAccount(bet.UserId), AmountMinor = bet.StakeMinor } },
        }, cancellationToken);

    private async Task<IReadOnlyList<LedgerAnswer>> TransferAsync(
        IReadOnlyList<PendingBet> bets, Func<PendingBet, TransferRequest> transfer, CancellationToken cancellationToken)
    {
        var answers = new List<LedgerAnswer>(bets.Count);
        foreach (var chunk in bets.Chunk(MaxTransfersPerCall))
        {
            var request = new TransferBatchRequest { OmitTransfers = true };
            request.Transfers.AddRange(chunk.Select(transfer));
            TransferBatchReply reply;
            try
            {
                reply = await wallet.TransferBatchAsync(request, deadline: DateTime.UtcNow + CallTimeout, cancellationToken: cancellationToken);
            }
            catch (RpcException e)
            {
                throw new DependencyUnavailableException("Users wallet", e);
            }

            if (reply.Results.Count != chunk.Length)
            {
                throw new InvalidOperationException($"Wallet.TransferBatch answered {reply.Results.Count} results for {chunk.Length} transfers.");
            }
            answers.AddRange(reply.Results.Select(r => r.Status switch
            {
                TransferStatus.Applied or TransferStatus.Duplicate => new LedgerAnswer(StakeMovement.Moved),
                TransferStatus.InsufficientFunds => new LedgerAnswer(StakeMovement.InsufficientFunds, r.ErrorReason, r.ErrorDetail),
                _ => new LedgerAnswer(StakeMovement.Refused, r.ErrorReason, r.ErrorDetail),
            }));
        }
        return answers;
    }
}
