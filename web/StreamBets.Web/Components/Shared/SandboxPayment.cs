using StreamBets.Web.Gateway;

namespace StreamBets.Web.Components.Shared;

/// <summary>
/// A movement the sandbox payment provider offers on the wallet page (docs/users.md): its call, its range per call and
/// its words. A deposit and a withdrawal are sent and answered alike, so <see cref="SandboxPaymentForm"/> serves both.
/// </summary>
public sealed record SandboxPayment
{
    public static readonly SandboxPayment Deposit = new()
    {
        Action = "deposit",
        MaxAmountMinor = 100_000,
        StartingAmount = "100",
        Send = (gateway, amount, key) => gateway.SandboxDepositAsync(amount, key),
        OffCode = "sandbox-deposits-off",
        OutOfRangeCode = "deposit-out-of-range",
        TitleKey = "SandboxDepositTitle",
        ExplainKey = "SandboxDepositExplain",
        SubmitKey = "Deposit",
        AmountKey = "AmountToDeposit",
        QuickAmountsKey = "QuickDepositAmounts",
        UnansweredKey = "UnansweredDeposit",
        UnansweredFirstKey = "UnansweredDepositFirst",
        DoneTitleKey = "DepositDoneTitle",
        DoneKey = "DepositDone",
    };

    public static readonly SandboxPayment Withdrawal = new()
    {
        Action = "withdraw",
        MaxAmountMinor = 10_000_000,
        // No amount chosen for the player: money leaves only in an amount they typed or picked.
        StartingAmount = "",
        Send = (gateway, amount, key) => gateway.SandboxWithdrawalAsync(amount, key),
        OffCode = "sandbox-withdrawals-off",
        OutOfRangeCode = "withdrawal-out-of-range",
        TitleKey = "SandboxWithdrawalTitle",
        ExplainKey = "SandboxWithdrawalExplain",
        SubmitKey = "Withdraw",
        AmountKey = "AmountToWithdraw",
        QuickAmountsKey = "QuickWithdrawalAmounts",
        UnansweredKey = "UnansweredWithdrawal",
        UnansweredFirstKey = "UnansweredWithdrawalFirst",
        DoneTitleKey = "WithdrawalDoneTitle",
        DoneKey = "WithdrawalDone",
    };

    /// <summary>
    /// CheckEligibility's action ("deposit", "withdraw"): the form's element ids, and the refusals worded for it
    /// (<see cref="Betting.ProblemContext.Action"/>).
    /// </summary>
    public required string Action { get; init; }

    /// <summary>The most one call may move; 1 centavo is the least.</summary>
    public required long MaxAmountMinor { get; init; }

    /// <summary>The amount field's text when the page opens.</summary>
    public required string StartingAmount { get; init; }

    public required Func<GatewayClient, long, string, Task<ApiResult<SandboxTransfer>>> Send { get; init; }

    /// <summary>The problem shown for the route's 404: sandbox payments are off where the site runs.</summary>
    public required string OffCode { get; init; }

    /// <summary>The problem shown, before anything is sent, for an amount over <see cref="MaxAmountMinor"/>.</summary>
    public required string OutOfRangeCode { get; init; }

    public required string TitleKey { get; init; }
    public required string ExplainKey { get; init; }
    public required string SubmitKey { get; init; }

    /// <summary>The amount field's and its quick amounts' names: both forms sit on one page, and a screen reader's list of
    /// its fields must tell them apart.</summary>
    public required string AmountKey { get; init; }
    public required string QuickAmountsKey { get; init; }

    /// <summary>"your deposit of {0}": the unanswered one, as a sentence names it.</summary>
    public required string UnansweredKey { get; init; }

    /// <summary>Why a changed amount was held back for the unanswered one ({0}: its amount).</summary>
    public required string UnansweredFirstKey { get; init; }

    public required string DoneTitleKey { get; init; }

    /// <summary>The success toast's text ({0}: the amount moved).</summary>
    public required string DoneKey { get; init; }
}
