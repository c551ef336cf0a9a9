using Microsoft.AspNetCore.Components.Server.ProtectedBrowserStorage;
using Microsoft.JSInterop;
using StreamBets.FrontEnd.Auth;
using StreamBets.FrontEnd.Gateway;

namespace StreamBets.Web.Betting;

/// <summary>
/// A bet, deposit or withdrawal sent under <see cref="Key"/> that has no answer yet; <see cref="OutcomeId"/> is a bet's.
/// </summary>
public sealed record UnansweredRequest(long AmountMinor, string Key, Guid? OutcomeId = null)
{
    /// <summary>One about to be sent for the first time, under a key of its own.</summary>
    public static UnansweredRequest New(long amountMinor, Guid? outcomeId = null) =>
        new(amountMinor, Guid.NewGuid().ToString(), outcomeId);

    /// <summary>
    /// Whether <paramref name="result"/> answers the request: a success, or a service's refusal of it; the next one is then
    /// a new request, with a new key. An answer that is no judgement of it leaves it unanswered, to go again under its key:
    /// none came (it may still be made), the gateway's rate limit, or a signed-out session (neither reached a service).
    /// </summary>
    public static bool IsSettledBy<T>(ApiResult<T> result) =>
        result.Problem?.Code is not (ApiProblem.Unavailable or ApiProblem.SignedOut or ApiProblem.RateLimited);
}

/// <summary>
/// Keeps each request sent with no answer in the browser tab's session storage until it has one. The page's own memory
/// ends with a reload or a new circuit, and the same request sent again under a new key would move the money twice if
/// the first did land. Kept per player and per target (a pool's bets, deposits, withdrawals), encrypted and bound to
/// both, so another player signing in on the tab never sees or reuses it. Best effort: a tab that cannot be read or
/// written (not interactive yet, gone, a tampered value) counts as holding nothing, and the page goes on as before.
/// </summary>
public sealed partial class UnansweredRequests(
    ProtectedSessionStorage storage, UserSession session, ILogger<UnansweredRequests> logger)
{
    /// <summary>The target of a pool's bets; a deposit's or a withdrawal's is its action ("deposit", "withdraw").</summary>
    public static string Bet(Guid poolId) => $"bet:{poolId:N}";

    public Task<UnansweredRequest?> FindAsync(string target) => UseAsync(target, async key =>
        await storage.GetAsync<UnansweredRequest>(key) is { Success: true, Value: { } kept } ? kept : null);

    /// <summary>Called before it is sent: a reload while it is on its way leaves no answer either.</summary>
    public Task KeepAsync(string target, UnansweredRequest request) => UseAsync(target, async key =>
    {
        await storage.SetAsync(key, request);
        return null;
    });

    public Task ForgetAsync(string target) => UseAsync(target, async key =>
    {
        await storage.DeleteAsync(key);
        return null;
    });

    private async Task<UnansweredRequest?> UseAsync(string target, Func<string, Task<UnansweredRequest?>> use)
    {
        try
        {
            // The key names the player, and a value's protection is bound to its key: it decrypts under no other.
            return await session.UserIdAsync() is { } player ? await use($"unanswered:{player:N}:{target}") : null;
        }
        catch (JSDisconnectedException)
        {
            return null; // the tab has gone: nothing to keep it for
        }
        catch (Exception e)
        {
            LogStorageFailed(logger, target, e);
            return null;
        }
    }

    [LoggerMessage(EventName = "UnansweredStorageFailed", Level = LogLevel.Warning,
        Message = "The tab's storage of an unanswered {Target} failed; the page goes on as if none were kept")]
    private static partial void LogStorageFailed(ILogger logger, string target, Exception exception);
}
