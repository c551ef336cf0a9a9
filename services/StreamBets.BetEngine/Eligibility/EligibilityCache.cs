using Grpc.Core;
using Microsoft.Extensions.Options;
using StreamBets.BetEngine.Caching;
using StreamBets.BetEngine.Placement;
using StreamBets.Contracts.Users;

namespace StreamBets.BetEngine.Eligibility;

/// <summary>
/// Whether a user may bet, from Users.CheckEligibility, remembered for a few seconds per user and session: a player
/// adding to a bet in the rush costs Users nothing. A self-exclusion therefore takes effect on bets within that time.
/// </summary>
public sealed class EligibilityCache(UserAccounts.UserAccountsClient users, TimeProvider time, IOptions<BetEngineOptions> options)
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(5);

    private readonly ExpiringCache<(Guid UserId, Guid? SessionId), BetRejection?> _cache = new(time);

    /// <returns>Null when the user may bet; otherwise why not.</returns>
    /// <exception cref="DependencyUnavailableException">Users did not answer.</exception>
    public Task<BetRejection?> CheckAsync(Guid userId, Guid? sessionId, CancellationToken cancellationToken) =>
        _cache.GetOrFetchAsync((userId, sessionId), async key => (await FetchAsync(key.UserId, key.SessionId), options.Value.EligibilityCacheDuration))
            .WaitAsync(cancellationToken);

    private async Task<BetRejection?> FetchAsync(Guid userId, Guid? sessionId)
    {
        CheckEligibilityReply reply;
        try
        {
            reply = await users.CheckEligibilityAsync(
                new CheckEligibilityRequest { UserId = userId.ToString(), Action = EligibilityAction.Bet, SessionId = sessionId?.ToString() ?? "" },
                deadline: DateTime.UtcNow + CallTimeout);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            return new BetRejection(BetRejectionCodes.UserNotFound, "No account has this user id.");
        }
        catch (RpcException e)
        {
            throw new DependencyUnavailableException("Users", e);
        }

        if (reply.Allowed)
        {
            return null;
        }
        var code = BetRejectionCodes.EligibilityCodes.Contains(reply.Reason) ? reply.Reason : BetRejectionCodes.NotEligible;
        return new BetRejection(code, string.IsNullOrEmpty(reply.Message) ? "You may not bet right now." : reply.Message);
    }
}
