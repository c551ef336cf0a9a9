using Grpc.Core;
using StreamBets.Contracts.Wallet;
using StreamBets.Users.Ledger;
using ProtoTransferRequest = StreamBets.Contracts.Wallet.TransferRequest;
using ProtoTransferStatus = StreamBets.Contracts.Wallet.TransferStatus;

namespace StreamBets.Users.Tests;

public sealed class LedgerGrpcTests(LedgerTestHost host) : IClassFixture<LedgerTestHost>
{
    [Fact]
    public async Task Refusals_carry_a_stable_reason_in_the_status_details()
    {
        var (user, pool) = (LedgerAccountId.ForUser(Guid.NewGuid()), LedgerAccountId.ForPoolEscrow(Guid.NewGuid()));
        var deposit = Request(LedgerAccountId.PspClearing, user, 100);
        await host.Wallet.TransferAsync(deposit);

        var reused = await RefusalAsync(Request(LedgerAccountId.PspClearing, user, 101, deposit.TransferId));
        var broke = await RefusalAsync(Request(user, pool, 101));
        var malformed = await RefusalAsync(Request(user, pool, 10, "bet-1"));
        var unknownAccount = await RefusalAsync(new GetBalanceRequest { Account = "bank:vault" });

        Assert.Equal((StatusCode.AlreadyExists, LedgerErrors.IdempotencyKeyReused), reused);
        Assert.Equal((StatusCode.FailedPrecondition, LedgerErrors.InsufficientFunds), broke);
        Assert.Equal((StatusCode.InvalidArgument, LedgerErrors.InvalidTransfer), malformed);
        Assert.Equal((StatusCode.InvalidArgument, LedgerErrors.InvalidRequest), unknownAccount);
    }

    [Fact]
    public async Task A_batch_answers_each_transfer_on_its_own_in_request_order()
    {
        var (user, pool) = (LedgerAccountId.ForUser(Guid.NewGuid()), LedgerAccountId.ForPoolEscrow(Guid.NewGuid()));
        var deposit = Request(LedgerAccountId.PspClearing, user, 1_000);
        var request = new TransferBatchRequest
        {
            Transfers =
            {
                deposit,
                Request(user, pool, 600),
                Request(user, pool, 600),
                deposit,
                Request(user, user, 1),
            },
        };

        var reply = await host.Wallet.TransferBatchAsync(request);

        Assert.Equal(
            [ProtoTransferStatus.Applied, ProtoTransferStatus.Applied, ProtoTransferStatus.InsufficientFunds, ProtoTransferStatus.Duplicate, ProtoTransferStatus.Rejected],
            reply.Results.Select(r => r.Status));
        Assert.Equal(request.Transfers.Select(t => t.TransferId), reply.Results.Select(r => r.TransferId));
        Assert.Equal(400, (await host.Wallet.GetBalanceAsync(new GetBalanceRequest { Account = user.Code })).BalanceMinor);
        Assert.Equal(600, (await host.Wallet.GetBalanceAsync(new GetBalanceRequest { Account = pool.Code })).BalanceMinor);
        Assert.Equal(600, reply.Results[1].Transfer.Postings.Single(p => p.Account == pool.Code).BalanceAfterMinor);
    }

    [Fact]
    public async Task A_reference_with_a_control_character_is_refused_alone_and_the_rest_of_its_batch_applies()
    {
        var user = LedgerAccountId.ForUser(Guid.NewGuid());
        var bad = Request(LedgerAccountId.PspClearing, user, 100);
        bad.Reference = "bet:\u0000";

        var reply = await host.Wallet.TransferBatchAsync(new TransferBatchRequest { Transfers = { bad, Request(LedgerAccountId.PspClearing, user, 250) } });

        Assert.Equal([ProtoTransferStatus.Rejected, ProtoTransferStatus.Applied], reply.Results.Select(r => r.Status));
        Assert.Equal(250, (await host.Wallet.GetBalanceAsync(new GetBalanceRequest { Account = user.Code })).BalanceMinor);
    }

    [Fact]
    public async Task A_batch_asked_to_omit_transfers_answers_statuses_only()
    {
        var user = LedgerAccountId.ForUser(Guid.NewGuid());
        var deposit = Request(LedgerAccountId.PspClearing, user, 500);
        var request = new TransferBatchRequest { OmitTransfers = true, Transfers = { deposit, deposit, Request(user, user, 1) } };

        var reply = await host.Wallet.TransferBatchAsync(request);

        Assert.Equal([ProtoTransferStatus.Applied, ProtoTransferStatus.Duplicate, ProtoTransferStatus.Rejected], reply.Results.Select(r => r.Status));
        Assert.All(reply.Results, r => Assert.Null(r.Transfer));
        Assert.NotEqual("", reply.Results[2].ErrorReason);
        Assert.Equal(500, (await host.Wallet.GetBalanceAsync(new GetBalanceRequest { Account = user.Code })).BalanceMinor);
    }

    [Fact]
    public async Task History_pages_through_an_escrow_newest_first()
    {
        var pool = LedgerAccountId.ForPoolEscrow(Guid.NewGuid());
        for (var i = 1; i <= 5; i++)
        {
            await host.Wallet.TransferAsync(Request(LedgerAccountId.PspClearing, pool, i));
        }

        var first = await host.Wallet.HistoryAsync(new HistoryRequest { Account = pool.Code, Limit = 3 });
        var second = await host.Wallet.HistoryAsync(new HistoryRequest { Account = pool.Code, Limit = 3, Cursor = first.NextCursor });

        Assert.Equal([5L, 4, 3, 2, 1], first.Entries.Concat(second.Entries).Select(e => e.AmountMinor));
        Assert.Equal(15, first.Entries[0].BalanceAfterMinor);
        Assert.Equal("", second.NextCursor);
    }

    private static ProtoTransferRequest Request(LedgerAccountId from, LedgerAccountId to, long amount, string? id = null) => new()
    {
        TransferId = id ?? Guid.NewGuid().ToString(),
        Reason = "test",
        Legs = { new Leg { FromAccount = from.Code, ToAccount = to.Code, AmountMinor = amount } },
    };

    private Task<(StatusCode, string)> RefusalAsync(ProtoTransferRequest request) => RefusalAsync(() => host.Wallet.TransferAsync(request).ResponseAsync);

    private Task<(StatusCode, string)> RefusalAsync(GetBalanceRequest request) => RefusalAsync(() => host.Wallet.GetBalanceAsync(request).ResponseAsync);

    private static async Task<(StatusCode, string)> RefusalAsync<T>(Func<Task<T>> call)
    {
        var error = await Assert.ThrowsAsync<RpcException>(call);
        var info = error.GetRpcStatus()?.GetDetail<Google.Rpc.ErrorInfo>();
        Assert.Equal(Grpc.WalletService.ErrorDomain, info?.Domain);
        return (error.StatusCode, info!.Reason);
    }
}
