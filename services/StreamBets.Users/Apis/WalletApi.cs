using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using StreamBets.Contracts.Wallet;
using StreamBets.Users.Ledger;
using TransferRequest = StreamBets.Users.Ledger.TransferRequest;
using TransferStatus = StreamBets.Users.Ledger.TransferStatus;

namespace StreamBets.Users.Apis;

/// <summary>
/// Players read their own wallet; the user id comes only from the validated token's <c>sub</c>, so
/// no route can name another player's wallet. Admins can fund a wallet from PSP clearing in sandbox mode.
/// </summary>
public static class WalletApi
{
    public const string IdempotencyKeyHeader = "Idempotency-Key";
    public const string ReplayedHeader = "Idempotent-Replayed";
    public const int MaxIdempotencyKeyLength = 100;
    public const string SandboxCreditReason = "sandbox-credit";

    /// <summary>Sandbox funding is on in Development unless <c>Wallet:SandboxFunding</c> says otherwise; never on by default in production.</summary>
    public const string SandboxFundingSetting = "Wallet:SandboxFunding";

    public static WebApplication MapWalletApi(this WebApplication app)
    {
        var wallet = app.MapGroup("/api/users/me/wallet").RequireAuthorization().WithTags("Wallet");
        wallet.MapGet("", GetMyWalletAsync).WithName("GetMyWallet");
        wallet.MapGet("/history", GetMyHistoryAsync).WithName("GetMyWalletHistory");

        if (app.Configuration.GetValue(SandboxFundingSetting, app.Environment.IsDevelopment()))
        {
            app.MapGroup("/api/users/admin/wallets")
                .RequireAuthorization(AuthenticationDefaults.Policies.Admin)
                .WithTags("Wallet administration")
                .MapPost("/{userId}/sandbox-credit", SandboxCreditAsync)
                .WithName("SandboxCredit");
        }
        return app;
    }

    public static async Task<Results<Ok<WalletBalanceResponse>, ForbidHttpResult>> GetMyWalletAsync(
        ClaimsPrincipal user, LedgerStore ledger, CancellationToken cancellationToken)
    {
        if (!TryGetUserId(user, out var userId))
        {
            return TypedResults.Forbid();
        }
        var balance = await ledger.GetBalanceAsync(LedgerAccountId.ForUser(userId), cancellationToken);
        return TypedResults.Ok(new WalletBalanceResponse(userId, balance));
    }

    public static async Task<Results<Ok<WalletHistoryResponse>, ValidationProblem, ForbidHttpResult>> GetMyHistoryAsync(
        ClaimsPrincipal user, LedgerStore ledger, string? cursor, int? limit, CancellationToken cancellationToken)
    {
        if (!TryGetUserId(user, out var userId))
        {
            return TypedResults.Forbid();
        }

        var errors = new Dictionary<string, string[]>();
        if (!LedgerHistoryCursor.TryParse(cursor, out var before))
        {
            errors["cursor"] = ["The cursor is not one this service issued."];
        }
        if (limit is < 1 or > LedgerHistoryPage.MaxLimit)
        {
            errors["limit"] = [$"The limit must be between 1 and {LedgerHistoryPage.MaxLimit}."];
        }
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var page = await ledger.GetHistoryAsync(LedgerAccountId.ForUser(userId), before, limit ?? LedgerHistoryPage.DefaultLimit, cancellationToken);
        return TypedResults.Ok(new WalletHistoryResponse(
            [.. page.Entries.Select(e => new WalletHistoryItem(e.TransferId, e.Reason, e.Reference, e.AmountMinor, e.BalanceAfterMinor, e.CreatedAt))],
            LedgerHistoryCursor.Format(page.NextBefore)));
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
        HttpResponse response,
        CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        if (!Guid.TryParseExact(userId, "D", out var user) || user == Guid.Empty)
        {
            errors["userId"] = ["The user id must be a GUID such as 3f2504e0-4f89-11d3-9a0c-0305e82c3301."];
        }
        if (string.IsNullOrEmpty(idempotencyKey) || idempotencyKey.Length > MaxIdempotencyKeyLength)
        {
            errors[IdempotencyKeyHeader] = [$"The {IdempotencyKeyHeader} header is required and may have at most {MaxIdempotencyKeyLength} characters."];
        }
        if (request.AmountMinor is <= 0 or > LedgerTransfer.MaxLegAmountMinor)
        {
            errors["amountMinor"] = [$"The amount must be between 1 and {LedgerTransfer.MaxLegAmountMinor} minor units."];
        }
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var wallet = LedgerAccountId.ForUser(user);
        // The key names the transfer, so a replay finds the first one; the same key for another user or amount is refused.
        var outcome = await ledger.TransferAsync(new TransferRequest(
            WalletTransferIds.FromName($"sandbox-credit:{idempotencyKey}").ToString(),
            SandboxCreditReason,
            [TransferLeg.Between(LedgerAccountId.PspClearing, wallet, request.AmountMinor)]), cancellationToken);

        if (outcome.Transfer is { } transfer)
        {
            if (outcome.Status == TransferStatus.Duplicate)
            {
                response.Headers[ReplayedHeader] = "true";
            }
            var posting = transfer.Postings.Single(p => p.Account == wallet);
            return TypedResults.Ok(new SandboxCreditResponse(transfer.TransferId, user, posting.AmountMinor, posting.BalanceAfterMinor, transfer.CreatedAt));
        }

        return TypedResults.Problem(
            detail: outcome.Detail,
            statusCode: outcome.ErrorReason == LedgerErrors.IdempotencyKeyReused ? StatusCodes.Status409Conflict : StatusCodes.Status400BadRequest,
            title: outcome.ErrorReason == LedgerErrors.IdempotencyKeyReused
                ? "The idempotency key was already used for a different request."
                : "The credit cannot be applied.",
            type: LedgerErrors.ProblemType(outcome.ErrorReason!));
    }

    private static bool TryGetUserId(ClaimsPrincipal user, out Guid userId) =>
        Guid.TryParse(user.FindFirstValue("sub"), out userId) && userId != Guid.Empty;
}

public sealed record WalletBalanceResponse(Guid UserId, long BalanceMinor);

public sealed record WalletHistoryItem(Guid TransferId, string Reason, string? Reference, long AmountMinor, long BalanceAfterMinor, DateTimeOffset CreatedAt);

public sealed record WalletHistoryResponse(IReadOnlyList<WalletHistoryItem> Items, string? NextCursor);

public sealed record SandboxCreditRequest(long AmountMinor);

public sealed record SandboxCreditResponse(Guid TransferId, Guid UserId, long AmountMinor, long BalanceMinor, DateTimeOffset CreatedAt);
