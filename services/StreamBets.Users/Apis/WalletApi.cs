using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Primitives;
using StreamBets.Contracts.Wallet;
using StreamBets.Users.Accounts;
using StreamBets.Users.Deposits;
using StreamBets.Users.Ledger;
using StreamBets.Users.ResponsibleGambling;
using StreamBets.Users.Withdrawals;
using TransferRequest = StreamBets.Users.Ledger.TransferRequest;
using TransferStatus = StreamBets.Users.Ledger.TransferStatus;

namespace StreamBets.Users.Apis;

/// <summary>
/// Players read their own wallet; the user id comes only from the validated token's <c>sub</c>, so
/// no route can name another player's wallet. Admins can fund a wallet from PSP clearing in sandbox mode,
/// and where sandbox deposits are on (local mode) players can deposit play money into their own wallet and withdraw it again.
/// </summary>
public static class WalletApi
{
    public const string IdempotencyKeyHeader = "Idempotency-Key";
    public const string ReplayedHeader = "Idempotent-Replayed";
    public const int MaxIdempotencyKeyLength = 100;
    public const string SandboxCreditReason = "sandbox-credit";

    /// <summary>Sandbox funding is on in Development unless <c>Wallet:SandboxFunding</c> says otherwise; never on by default in production.</summary>
    public const string SandboxFundingSetting = "Wallet:SandboxFunding";

    /// <summary>
    /// Player-facing sandbox deposits: off unless <c>Wallet:SandboxDeposits</c> is true (Development settings and the
    /// AppHost's local mode set it). They obey the same rules as a real deposit: KYC tier, self-exclusion, deposit limits.
    /// The same setting turns on sandbox withdrawals: it is the sandbox PSP, and money that can go in must be able to come out.
    /// </summary>
    public const string SandboxDepositsSetting = "Wallet:SandboxDeposits";
    public const string SandboxDepositReason = SandboxDeposits.Reason;

    /// <summary>R$ 1.000,00 per call: enough to play with, small enough that a typo is not a fortune.</summary>
    public const long MaxSandboxDepositMinor = 100_000;

    public const string SandboxWithdrawalReason = SandboxWithdrawals.Reason;

    /// <summary>
    /// R$ 100.000,00 per call: winnings can far exceed one deposit, so the deposit cap would not do; the balance caps
    /// a withdrawal anyway, and a bigger sum is a typo or a case for a person.
    /// </summary>
    public const long MaxSandboxWithdrawalMinor = 10_000_000;

    public static WebApplication MapWalletApi(this WebApplication app)
    {
        var wallet = app.MapGroup("/api/users/me/wallet").RequireAuthorization().WithTags("Wallet");
        wallet.MapGet("", GetMyWalletAsync).WithName("GetMyWallet");
        wallet.MapGet("/history", GetMyHistoryAsync).WithName("GetMyWalletHistory");
        if (app.Configuration.GetValue<bool>(SandboxDepositsSetting))
        {
            wallet.MapPost("/sandbox-deposit", SandboxDepositAsync).WithName("SandboxDeposit");
            wallet.MapPost("/sandbox-withdrawal", SandboxWithdrawalAsync).WithName("SandboxWithdrawal");
        }

        // Support: an operator answering "where is my payout?" reads the player's wallet as the player would.
        var admin = app.MapGroup("/api/users/admin/wallets").RequireAuthorization(AuthenticationDefaults.Policies.Admin).WithTags("Wallet administration")
            .AddEndpointFilter(async (context, next) => IsNilUserId(context.HttpContext.Request.RouteValues["userId"])
                ? OutcomeResults.Invalid(new Dictionary<string, string[]> { ["userId"] = ["The all-zero id names no user."] })
                : await next(context));
        admin.MapGet("/{userId:guid}", GetWalletAsync).WithName("GetUserWallet");
        admin.MapGet("/{userId:guid}/history", GetHistoryAsync).WithName("GetUserWalletHistory");
        if (app.Configuration.GetValue(SandboxFundingSetting, app.Environment.IsDevelopment()))
        {
            admin.MapPost("/{userId}/sandbox-credit", SandboxCreditAsync).WithName("SandboxCredit");
        }
        return app;
    }

    /// <summary>No wallet can belong to the nil id (the ledger refuses to name its account): a 400, not a 500.</summary>
    private static bool IsNilUserId(object? routeValue) => Guid.TryParse(routeValue as string, out var id) && id == Guid.Empty;

    public static async Task<Results<Ok<WalletBalanceResponse>, ForbidHttpResult>> GetMyWalletAsync(
        ClaimsPrincipal user, LedgerStore ledger, CancellationToken cancellationToken) =>
        TryGetUserId(user, out var userId) ? await GetWalletAsync(userId, ledger, cancellationToken) : TypedResults.Forbid();

    public static async Task<Results<Ok<WalletHistoryResponse>, ValidationProblem, ForbidHttpResult>> GetMyHistoryAsync(
        ClaimsPrincipal user, LedgerStore ledger, string? cursor, int? limit, CancellationToken cancellationToken) =>
        TryGetUserId(user, out var userId) ? await GetHistoryAsync(userId, ledger, cursor, limit, cancellationToken) : TypedResults.Forbid();

    /// <summary>Any user's balance (admins); an id with no wallet yet reads 0, as a new player's does.</summary>
    public static async Task<Ok<WalletBalanceResponse>> GetWalletAsync(Guid userId, LedgerStore ledger, CancellationToken cancellationToken) =>
        TypedResults.Ok(new WalletBalanceResponse(userId, await ledger.GetBalanceAsync(LedgerAccountId.ForUser(userId), cancellationToken)));

    /// <summary>A user's wallet lines, newest first, a page at a time (403 is the callers' own: a token without a user, a non-admin).</summary>
    public static async Task<Results<Ok<WalletHistoryResponse>, ValidationProblem, ForbidHttpResult>> GetHistoryAsync(
        Guid userId, LedgerStore ledger, string? cursor, int? limit, CancellationToken cancellationToken)
    {
        if (OutcomeResults.InvalidPage(SequenceCursor.TryParse(cursor, out var before), limit, LedgerHistoryPage.MaxLimit) is { } invalid)
        {
            return invalid;
        }

        var page = await ledger.GetHistoryAsync(LedgerAccountId.ForUser(userId), before, limit ?? LedgerHistoryPage.DefaultLimit, cancellationToken);
        return TypedResults.Ok(new WalletHistoryResponse(
            [.. page.Entries.Select(e => new WalletHistoryItem(e.TransferId, e.Reason, e.Reference, e.AmountMinor, e.BalanceAfterMinor, e.CreatedAt, e.PoolId))],
            SequenceCursor.Format(page.NextBefore)));
    }

    /// <summary>
    /// Moves <c>amountMinor</c> from PSP clearing to the user's wallet. The Idempotency-Key header makes
    /// it safe to retry: a replay answers with the first result and the Idempotent-Replayed header.
    /// </summary>
    public static async Task<Results<Ok<SandboxCreditResponse>, ValidationProblem, ProblemHttpResult>> SandboxCreditAsync(
        string userId,
        [FromHeader(Name = IdempotencyKeyHeader)] string? idempotencyKey,
        SandboxCreditRequest request,
        LedgerStore ledger,
        AccountStore accounts,
        HttpRequest http,
        HttpResponse response,
        CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        if (!Guid.TryParseExact(userId, "D", out var user) || user == Guid.Empty)
        {
            errors["userId"] = ["The user id must be a GUID such as 3f2504e0-4f89-11d3-9a0c-0305e82c3301."];
        }
        AddKeyAndAmountErrors(errors, http.Headers[IdempotencyKeyHeader], request.AmountMinor, LedgerTransfer.MaxLegAmountMinor);
        if (errors.Count > 0)
        {
            return OutcomeResults.Invalid(errors);
        }
        // A typo'd id would move money from PSP clearing into a wallet no one owns. Users are never deleted, so one found
        // now still exists when the transfer commits.
        if (await accounts.FindByIdAsync(user, cancellationToken) is null)
        {
            return Problems.UserNotFound().ToProblem();
        }

        // The key names the transfer, so a replay finds the first one; the same key for another user or amount is refused.
        var transferId = WalletTransferIds.FromName($"sandbox-credit:{idempotencyKey}");
        var outcome = await ledger.TransferAsync(new TransferRequest(
            transferId.ToString(), SandboxCreditReason, [TransferLeg.Between(LedgerAccountId.PspClearing, LedgerAccountId.ForUser(user), request.AmountMinor)]), cancellationToken);
        return Credited(outcome, user, response) is { } credit ? TypedResults.Ok(credit) : LedgerRefusal(outcome, CreditRefusedTitle);
    }

    /// <summary>
    /// A player deposits play money into their own wallet (sandbox PSP). It is judged as a real deposit would be
    /// (<see cref="EligibilityChecker"/> with action deposit: age, self-exclusion, KYC tier 1, session and
    /// deposit limits) and recorded against the deposit limits in the credit's own transaction (<see cref="SandboxDeposits"/>).
    /// The Idempotency-Key makes retries safe; a replay answers the first result even if the limits would refuse a new deposit now.
    /// </summary>
    public static async Task<Results<Ok<SandboxCreditResponse>, ValidationProblem, ProblemHttpResult, ForbidHttpResult>> SandboxDepositAsync(
        ClaimsPrincipal user,
        [FromHeader(Name = IdempotencyKeyHeader)] string? idempotencyKey,
        SandboxCreditRequest request,
        SandboxDeposits deposits,
        HttpRequest http,
        HttpResponse response,
        CancellationToken cancellationToken)
    {
        if (!TryGetUserId(user, out var userId))
        {
            return TypedResults.Forbid();
        }
        var errors = new Dictionary<string, string[]>();
        AddKeyAndAmountErrors(errors, http.Headers[IdempotencyKeyHeader], request.AmountMinor, MaxSandboxDepositMinor);
        if (errors.Count > 0)
        {
            return OutcomeResults.Invalid(errors);
        }

        // Scoped by user: two players may well pick the same key. The transfer id doubles as the deposit id.
        var depositId = WalletTransferIds.FromName($"sandbox-deposit:{userId:D}:{idempotencyKey}");
        var result = await deposits.DepositAsync(userId, depositId, request.AmountMinor, user.GetSessionId(), cancellationToken);
        if (result.Credit is null)
        {
            return result.Refusal is { } refusal ? NotEligible(refusal, "Deposit not allowed") : TypedResults.Forbid();
        }
        return Credited(result.Credit, userId, response) is { } credit ? TypedResults.Ok(credit) : LedgerRefusal(result.Credit, CreditRefusedTitle);
    }

    /// <summary>
    /// A player withdraws play money from their own wallet to the sandbox PSP. It is judged as a real withdrawal would be
    /// (<see cref="EligibilityChecker"/> with action withdraw: age, KYC tier 2; self-exclusion and session limits
    /// do not stop a withdrawal) and debited in the check's own transaction (<see cref="SandboxWithdrawals"/>); the ledger
    /// refuses more than the balance (422 insufficient-funds). The Idempotency-Key makes retries safe, as for deposits.
    /// </summary>
    public static async Task<Results<Ok<SandboxWithdrawalResponse>, ValidationProblem, ProblemHttpResult, ForbidHttpResult>> SandboxWithdrawalAsync(
        ClaimsPrincipal user,
        [FromHeader(Name = IdempotencyKeyHeader)] string? idempotencyKey,
        SandboxWithdrawalRequest request,
        SandboxWithdrawals withdrawals,
        HttpRequest http,
        HttpResponse response,
        CancellationToken cancellationToken)
    {
        if (!TryGetUserId(user, out var userId))
        {
            return TypedResults.Forbid();
        }
        var errors = new Dictionary<string, string[]>();
        AddKeyAndAmountErrors(errors, http.Headers[IdempotencyKeyHeader], request.AmountMinor, MaxSandboxWithdrawalMinor);
        if (errors.Count > 0)
        {
            return OutcomeResults.Invalid(errors);
        }

        // Scoped by user, as deposit keys are; the transfer id is the withdrawal id.
        var withdrawalId = WalletTransferIds.FromName($"sandbox-withdrawal:{userId:D}:{idempotencyKey}");
        var result = await withdrawals.WithdrawAsync(userId, withdrawalId, request.AmountMinor, user.GetSessionId(), cancellationToken);
        if (result.Debit is null)
        {
            return result.Refusal is { } refusal ? NotEligible(refusal, "Withdrawal not allowed") : TypedResults.Forbid();
        }
        if (WalletPosting(result.Debit, userId, response) is not { } posting)
        {
            return LedgerRefusal(result.Debit, "The withdrawal cannot be made.");
        }
        var transfer = result.Debit.Transfer!;
        return TypedResults.Ok(new SandboxWithdrawalResponse(transfer.TransferId, userId, -posting.AmountMinor, posting.BalanceAfterMinor, transfer.CreatedAt));
    }

    /// <summary>A refused deposit or withdrawal names the eligibility reason as its problem type, as a refused bet does.</summary>
    private static ProblemHttpResult NotEligible(EligibilityDecision decision, string title)
    {
        var reason = decision.Reason ?? "not-eligible";
        var limitExceeded = reason == EligibilityReasons.DepositLimitExceeded;
        var status = limitExceeded ? StatusCodes.Status422UnprocessableEntity : StatusCodes.Status403Forbidden;
        // Only a limit names an allowance: a player refused for another reason (self-excluded) may deposit nothing at all.
        var extensions = limitExceeded && decision.DepositAllowanceMinor is { } allowance
            ? new Dictionary<string, object?> { ["depositAllowanceMinor"] = allowance }
            : null;
        return TypedResults.Problem(detail: decision.Message, statusCode: status, title: title, type: LedgerErrors.ProblemType(reason), extensions: extensions);
    }

    /// <param name="idempotencyKeys">The header's values as sent: the bound <c>string</c> would join repeats into one.</param>
    private static void AddKeyAndAmountErrors(Dictionary<string, string[]> errors, StringValues idempotencyKeys, long amountMinor, long maxAmountMinor)
    {
        // A repeated header would be joined into one key ("k,k") that a retry with "k" does not replay, so the money would
        // move twice; refused as the Gateway refuses a bet's repeated key (docs/gateway.md).
        if (idempotencyKeys.Count > 1)
        {
            errors[IdempotencyKeyHeader] = [$"Send one {IdempotencyKeyHeader} header per request, not {idempotencyKeys.Count}."];
        }
        else if (idempotencyKeys.ToString() is { Length: 0 or > MaxIdempotencyKeyLength })
        {
            errors[IdempotencyKeyHeader] = [$"The {IdempotencyKeyHeader} header is required and may have at most {MaxIdempotencyKeyLength} characters."];
        }
        if (amountMinor <= 0 || amountMinor > maxAmountMinor)
        {
            errors["amountMinor"] = [$"The amount must be between 1 and {maxAmountMinor} minor units."];
        }
    }

    private const string CreditRefusedTitle = "The credit cannot be applied.";

    /// <summary>The answer to a credit from PSP clearing: the wallet's line, or null when the ledger refused it.</summary>
    private static SandboxCreditResponse? Credited(TransferOutcome outcome, Guid userId, HttpResponse response) =>
        WalletPosting(outcome, userId, response) is { } posting
            ? new SandboxCreditResponse(outcome.Transfer!.TransferId, userId, posting.AmountMinor, posting.BalanceAfterMinor, outcome.Transfer.CreatedAt)
            : null;

    /// <summary>The wallet's line of a transfer the ledger applied, now or before (a replay says so in a header); null when it refused.</summary>
    private static CommittedPosting? WalletPosting(TransferOutcome outcome, Guid userId, HttpResponse response)
    {
        if (outcome.Transfer is not { } transfer)
        {
            return null;
        }
        if (outcome.Status == TransferStatus.Duplicate)
        {
            response.Headers[ReplayedHeader] = "true";
        }
        var wallet = LedgerAccountId.ForUser(userId);
        return transfer.Postings.Single(p => p.Account == wallet);
    }

    /// <summary>The ledger's refusal: a reused key is a conflict, a balance too small a broken rule (as for a bet), anything else a bad request.</summary>
    private static ProblemHttpResult LedgerRefusal(TransferOutcome outcome, string title) => TypedResults.Problem(
        detail: outcome.Detail,
        statusCode: outcome.ErrorReason switch
        {
            LedgerErrors.IdempotencyKeyReused => StatusCodes.Status409Conflict,
            LedgerErrors.InsufficientFunds => StatusCodes.Status422UnprocessableEntity,
            _ => StatusCodes.Status400BadRequest,
        },
        title: outcome.ErrorReason == LedgerErrors.IdempotencyKeyReused ? "The idempotency key was already used for a different request." : title,
        type: LedgerErrors.ProblemType(outcome.ErrorReason!));

    private static bool TryGetUserId(ClaimsPrincipal user, out Guid userId) =>
        Guid.TryParse(user.FindFirstValue("sub"), out userId) && userId != Guid.Empty;
}

public sealed record WalletBalanceResponse(Guid UserId, long BalanceMinor);

/// <summary>A wallet line; <c>poolId</c> names the pool of a stake, payout or refund, and is null for other lines.</summary>
public sealed record WalletHistoryItem(Guid TransferId, string Reason, string? Reference, long AmountMinor, long BalanceAfterMinor, DateTimeOffset CreatedAt, Guid? PoolId);

public sealed record WalletHistoryResponse(IReadOnlyList<WalletHistoryItem> Items, string? NextCursor);

public sealed record SandboxCreditRequest(long AmountMinor);

public sealed record SandboxCreditResponse(Guid TransferId, Guid UserId, long AmountMinor, long BalanceMinor, DateTimeOffset CreatedAt);

public sealed record SandboxWithdrawalRequest(long AmountMinor);

/// <summary>A sandbox withdrawal as applied: <c>amountMinor</c> is what left the wallet (positive; its history line shows it negative).</summary>
public sealed record SandboxWithdrawalResponse(Guid TransferId, Guid UserId, long AmountMinor, long BalanceMinor, DateTimeOffset CreatedAt);
