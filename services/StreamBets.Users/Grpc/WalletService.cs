using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using StreamBets.Contracts.Wallet;
using StreamBets.Users.Ledger;
using DomainTransferRequest = StreamBets.Users.Ledger.TransferRequest;
using DomainTransferStatus = StreamBets.Users.Ledger.TransferStatus;
using ProtoTransferStatus = StreamBets.Contracts.Wallet.TransferStatus;
using Status = Google.Rpc.Status;

namespace StreamBets.Users.Grpc;

/// <summary>
/// The ledger for other services (bet engine, settlement, payments). Domain refusals become gRPC
/// errors carrying a google.rpc.ErrorInfo with a stable reason, e.g. FAILED_PRECONDITION + "insufficient-funds".
/// </summary>
public sealed class WalletService(LedgerStore ledger) : Wallet.WalletBase
{
    public const string ErrorDomain = "wallet.streambets.dev";

    public override async Task<TransferReply> Transfer(Contracts.Wallet.TransferRequest request, ServerCallContext context)
    {
        var outcome = await ledger.TransferAsync(ToDomain(request), context.CancellationToken);
        if (!outcome.Succeeded)
        {
            throw Error(outcome.ErrorReason!, outcome.Detail ?? outcome.ErrorReason!);
        }
        return new TransferReply { Transfer = ToProto(outcome.Transfer!), Duplicate = outcome.Status == DomainTransferStatus.Duplicate };
    }

    public override async Task<TransferBatchReply> TransferBatch(TransferBatchRequest request, ServerCallContext context)
    {
        if (request.Transfers.Count is 0 or > LedgerStore.MaxBatchSize)
        {
            throw Error(LedgerErrors.InvalidTransfer, $"A batch holds between 1 and {LedgerStore.MaxBatchSize} transfers.");
        }

        var outcomes = await ledger.TransferBatchAsync([.. request.Transfers.Select(ToDomain)], context.CancellationToken);
        var reply = new TransferBatchReply();
        foreach (var outcome in outcomes)
        {
            reply.Results.Add(new TransferResult
            {
                TransferId = outcome.TransferId,
                Status = outcome.Status switch
                {
                    DomainTransferStatus.Applied => ProtoTransferStatus.Applied,
                    DomainTransferStatus.Duplicate => ProtoTransferStatus.Duplicate,
                    DomainTransferStatus.InsufficientFunds => ProtoTransferStatus.InsufficientFunds,
                    _ => ProtoTransferStatus.Rejected,
                },
                Transfer = outcome.Transfer is null || request.OmitTransfers ? null : ToProto(outcome.Transfer),
                ErrorReason = outcome.ErrorReason ?? "",
                ErrorDetail = outcome.Detail ?? "",
            });
        }
        return reply;
    }

    public override async Task<GetBalanceReply> GetBalance(GetBalanceRequest request, ServerCallContext context)
    {
        var account = ParseAccount(request.Account);
        return new GetBalanceReply { Account = account.Code, BalanceMinor = await ledger.GetBalanceAsync(account, context.CancellationToken) };
    }

    public override async Task<HistoryReply> History(HistoryRequest request, ServerCallContext context)
    {
        var account = ParseAccount(request.Account);
        if (!SequenceCursor.TryParse(request.Cursor, out var before))
        {
            throw Error(LedgerErrors.InvalidRequest, "The cursor is not one this service issued.");
        }
        var limit = request.Limit == 0 ? LedgerHistoryPage.DefaultLimit : request.Limit;
        if (limit is < 1 or > LedgerHistoryPage.MaxLimit)
        {
            throw Error(LedgerErrors.InvalidRequest, $"The limit must be between 1 and {LedgerHistoryPage.MaxLimit}.");
        }

        var page = await ledger.GetHistoryAsync(account, before, limit, context.CancellationToken);
        var reply = new HistoryReply { NextCursor = SequenceCursor.Format(page.NextBefore) ?? "" };
        reply.Entries.AddRange(page.Entries.Select(e => new HistoryEntry
        {
            TransferId = e.TransferId.ToString(),
            Sequence = e.Sequence,
            Reason = e.Reason,
            Reference = e.Reference ?? "",
            CreatedAt = Timestamp.FromDateTimeOffset(e.CreatedAt),
            AmountMinor = e.AmountMinor,
            BalanceAfterMinor = e.BalanceAfterMinor,
        }));
        return reply;
    }

    private static DomainTransferRequest ToDomain(Contracts.Wallet.TransferRequest request) =>
        new(request.TransferId, request.Reason, [.. request.Legs.Select(l => new TransferLeg(l.FromAccount, l.ToAccount, l.AmountMinor))], request.Reference);

    private static Contracts.Wallet.Transfer ToProto(CommittedTransfer transfer)
    {
        var proto = new Contracts.Wallet.Transfer
        {
            TransferId = transfer.TransferId.ToString(),
            Sequence = transfer.Sequence,
            Reason = transfer.Reason,
            Reference = transfer.Reference ?? "",
            CreatedAt = Timestamp.FromDateTimeOffset(transfer.CreatedAt),
        };
        proto.Postings.AddRange(transfer.Postings.Select(p => new Contracts.Wallet.Posting
        {
            Account = p.Account.Code,
            AmountMinor = p.AmountMinor,
            BalanceAfterMinor = p.BalanceAfterMinor,
        }));
        return proto;
    }

    private static LedgerAccountId ParseAccount(string code) => LedgerAccountId.TryParse(code, out var account)
        ? account
        : throw Error(LedgerErrors.InvalidRequest, $"'{code}' is not a known account.");

    private static RpcException Error(string reason, string detail)
    {
        var code = reason switch
        {
            LedgerErrors.InsufficientFunds => Code.FailedPrecondition,
            LedgerErrors.IdempotencyKeyReused => Code.AlreadyExists,
            LedgerErrors.BalanceOverflow => Code.OutOfRange,
            _ => Code.InvalidArgument,
        };
        return new Status
        {
            Code = (int)code,
            Message = detail,
            Details = { Any.Pack(new ErrorInfo { Reason = reason, Domain = ErrorDomain }) },
        }.ToRpcException();
    }
}
