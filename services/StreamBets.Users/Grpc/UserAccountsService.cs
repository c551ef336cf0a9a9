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
    public override async Task<CheckEligibilityReply> CheckEligibility(CheckEligibilityRequest request, ServerCallContext context)
    {
        var userId = ParseUserId(request.UserId);
        var action = request.Action switch
        {
            EligibilityAction.Bet => PlayerAction.Bet,
            EligibilityAction.Deposit => PlayerAction.Deposit,
            EligibilityAction.Withdraw => PlayerAction.Withdraw,
            _ => throw new RpcException(new Status(StatusCode.InvalidArgument, "action must be bet, deposit or withdraw.")),
        };
        if (request.HasAmountMinor && request.AmountMinor <= 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "amount_minor must be positive."));
        }
        Guid? sessionId = null;
        if (request.SessionId.Length > 0)
        {
            sessionId = Guid.TryParse(request.SessionId, out var sid) ? sid : throw new RpcException(new Status(StatusCode.InvalidArgument, "session_id is not a UUID."));
        }

        var decision = await eligibility.CheckAsync(userId, action, request.HasAmountMinor ? request.AmountMinor : null, sessionId, context.CancellationToken)
            ?? throw new RpcException(new Status(StatusCode.NotFound, "No user has this id."));
        var reply = new CheckEligibilityReply { Allowed = decision.Allowed, Reason = decision.Reason ?? "", Message = decision.Message, KycTier = decision.KycTier };
        if (decision.DepositAllowanceMinor is { } allowance)
        {
            reply.DepositAllowanceMinor = allowance;
        }
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

    private static Guid ParseUserId(string userId) =>
        Guid.TryParse(userId, out var id) ? id : throw new RpcException(new Status(StatusCode.InvalidArgument, "user_id is not a UUID."));
}
