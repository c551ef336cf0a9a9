using StreamBets.Users.Ledger;

namespace StreamBets.Users.Tests;

/// <summary>Ledger requests the tests send, named after what they do in the product.</summary>
public static class LedgerTestRequests
{
    public static string NewId() => Guid.NewGuid().ToString();

    public static LedgerAccountId NewUser() => LedgerAccountId.ForUser(Guid.NewGuid());

    public static LedgerAccountId NewPool() => LedgerAccountId.ForPoolEscrow(Guid.NewGuid());

    public static TransferRequest Deposit(LedgerAccountId user, long amount, string? id = null) =>
        new(id ?? NewId(), "deposit", [TransferLeg.Between(LedgerAccountId.PspClearing, user, amount)]);

    public static TransferRequest Stake(LedgerAccountId user, LedgerAccountId escrow, long amount, string? id = null) =>
        new(id ?? NewId(), "bet-stake", [TransferLeg.Between(user, escrow, amount)]);

    public static TransferRequest Move(LedgerAccountId from, LedgerAccountId to, long amount, string? id = null) =>
        new(id ?? NewId(), "test-move", [TransferLeg.Between(from, to, amount)]);
}
