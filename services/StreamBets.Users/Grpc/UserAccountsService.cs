using Grpc.Core;
using StreamBets.Contracts.Users;
using StreamBets.Users.Accounts;
using StreamBets.Users.ResponsibleGambling;

namespace StreamBets.Users.Grpc;

/// <summary>
/// What other services ask about a user over gRPC: CheckEligibility (Pools and BetEngine before a bet,
/// Payments before a deposit or withdrawal) and GetUser. Reached on the internal "grpc" endpoint only.
/// </summary>
public sealed class UserAccountsService(EligibilityChecker eligibility, AccountStore accounts, ResponsibleGamblingStore responsibleGambling, TimeProvider time)
    : UserAccounts.UserAccountsBase
{
    /// <summary>The most checks one CheckEligibilityBatch may carry.</summary>
    public const int MaxBatchSize = 1_000;

    public override async Task<CheckEligibilityReply> CheckEligibility(CheckEligibilityRequest request, ServerCallContext context)
    {
        var decision = (await eligibility.CheckAsync([ParseCheck(request, "")], context.CancellationToken))[0]
            ?? throw new RpcException(new Status(StatusCode.NotFound, "No user has this id."));
        return ToReply(decision);
    }

    public override async Task<CheckEligibilityBatchReply> CheckEligibilityBatch(CheckEligibilityBatchRequest request, ServerCallContext context)
    {
        if (request.Checks.Count > MaxBatchSize)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"A batch holds at most {MaxBatchSize} checks; this one has {request.Checks.Count}."));
        }
        var queries = request.Checks.Select((check, i) => ParseCheck(check, $"checks[{i}].")).ToArray();
        var decisions = await eligibility.CheckAsync(queries, context.CancellationToken);
        var reply = new CheckEligibilityBatchReply();
        reply.Replies.AddRange(decisions.Select(decision => decision is null ? UnknownUser() : ToReply(decision)));
        return reply;
    }

    public override async Task<GetUserReply> GetUser(GetUserRequest request, ServerCallContext context)
    {
        var userId = ParseUserId(request.UserId);
        var account = await accounts.FindByIdAsync(userId, context.CancellationToken)
            ?? throw new RpcException(new Status(StatusCode.NotFound, "No user has this id."));
        var selfExcluded = (await responsibleGambling.GetSelfExclusionAsync(userId, context.CancellationToken))?.IsActive(time.GetUtcNow()) == true;
        return new GetUserReply
        {
            UserId = account.Id.ToString(),
            DisplayName = account.DisplayName,
            Role = account.Role,
            KycTier = account.KycTier,
            Country = account.Country,
            SelfExcluded = selfExcluded,
            // Self-exclusion overrides consent: no marketing reaches an excluded player.
            MarketingAllowed = account.MarketingOptIn && !selfExcluded,
            Email = account.Email,
        };
    }

    /// <param name="field">Where the check sits in its request, to prefix error messages with ("" or "checks[3].").</param>
    private static EligibilityQuery ParseCheck(CheckEligibilityRequest check, string field)
    {
        var userId = ParseUserId(check.UserId, field);
        var action = check.Action switch
        {
            EligibilityAction.Bet => PlayerAction.Bet,
            EligibilityAction.Deposit => PlayerAction.Deposit,
            EligibilityAction.Withdraw => PlayerAction.Withdraw,
            _ => throw InvalidArgument($"{field}action must be bet, deposit or withdraw."),
        };
        if (check.HasAmountMinor && check.AmountMinor <= 0)
        {
            throw InvalidArgument($"{field}amount_minor must be positive.");
        }
        Guid? sessionId = null;
        if (check.SessionId.Length > 0)
        {
            sessionId = Guid.TryParse(check.SessionId, out var sid) ? sid : throw InvalidArgument($"{field}session_id is not a UUID.");
        }
        return new EligibilityQuery(userId, action, check.HasAmountMinor ? check.AmountMinor : null, sessionId);
    }

    private static CheckEligibilityReply UnknownUser() => new() { Allowed = false, Reason = EligibilityReasons.UserNotFound, Message = "No user has this id." };

    private static CheckEligibilityReply ToReply(EligibilityDecision decision)
    {
        var reply = new CheckEligibilityReply { Allowed = decision.Allowed, Reason = decision.Reason ?? "", Message = decision.Message, KycTier = decision.KycTier };
        if (decision.DepositAllowanceMinor is { } allowance)
        {
            reply.DepositAllowanceMinor = allowance;
        }
        return reply;
    }

    private static Guid ParseUserId(string userId, string field = "") =>
        Guid.TryParse(userId, out var id) ? id : throw InvalidArgument($"{field}user_id is not a UUID.");

    private static RpcException InvalidArgument(string message) => new(new Status(StatusCode.InvalidArgument, message));
}
