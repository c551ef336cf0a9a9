using System.Diagnostics;
using Grpc.Core;
using Microsoft.Extensions.Options;
using StreamBets.BetEngine.Caching;
using StreamBets.BetEngine.Placement;
using StreamBets.Contracts.Users;

namespace StreamBets.BetEngine.Eligibility;

/// <summary>
/// Whether a user may bet, from Users.CheckEligibilityBatch, remembered for a few seconds per user and session: a player
/// adding to a bet in the rush costs Users nothing. A self-exclusion or a KYC change makes every replica forget the user
/// at once (<see cref="Forget"/>, through <see cref="EligibilityChanges"/>); a replica that misses it serves what it
/// remembers for at most that time.
/// <para>
/// Misses are sent in batches, one call at a time: the checks that arrive while a call is in flight ride the next one.
/// A quiet moment costs one call per check and no added wait; a rush of new players costs a few calls, where a call
/// each used to exceed the gRPC client's concurrency limit and refuse bets as "Users unavailable".
/// </para>
/// </summary>
public sealed class EligibilityCache(UserAccounts.UserAccountsClient users, TimeProvider time, IOptions<BetEngineOptions> options)
{
    /// <summary>Half of what Users accepts in one call, so one call stays short.</summary>
    public const int MaxBatchSize = 500;

    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(5);

    private readonly ExpiringCache<(Guid UserId, Guid? SessionId), BetRejection?> _cache = new(time);
    private readonly Lock _gate = new();
    private List<Check> _waiting = [];
    private bool _sending;

    /// <returns>Null when the user may bet; otherwise why not.</returns>
    /// <exception cref="DependencyUnavailableException">Users did not answer.</exception>
    public Task<BetRejection?> CheckAsync(Guid userId, Guid? sessionId, CancellationToken cancellationToken) =>
        _cache.GetOrFetchAsync((userId, sessionId), async key => (await FetchAsync(key.UserId, key.SessionId), options.Value.EligibilityCacheDuration))
            .WaitAsync(cancellationToken);

    /// <summary>
    /// Forgets every session's answer for the user, so their next check asks Users. A check already in flight still
    /// answers the bets waiting on it but is not remembered (see <see cref="ExpiringCache{TKey,TValue}.RemoveAll"/>).
    /// </summary>
    public void Forget(Guid userId) => _cache.RemoveAll(key => key.UserId == userId);

    private Task<BetRejection?> FetchAsync(Guid userId, Guid? sessionId)
    {
        var check = new Check(
            new CheckEligibilityRequest { UserId = userId.ToString(), Action = EligibilityAction.Bet, SessionId = sessionId?.ToString() ?? "" },
            Activity.Current,
            new TaskCompletionSource<BetRejection?>(TaskCreationOptions.RunContinuationsAsynchronously));
        bool send;
        lock (_gate)
        {
            _waiting.Add(check);
            send = !_sending;
            _sending = true;
        }
        if (send)
        {
            _ = SendWaitingAsync();
        }
        return check.Answer.Task;
    }

    /// <summary>Sends what waits, a batch per call, until nothing does. Never throws: each check gets its answer or error.</summary>
    private async Task SendWaitingAsync()
    {
        // Whichever request started the loop is not the batches' parent (this async flow's change stays in it).
        Activity.Current = null;
        while (true)
        {
            List<Check> batch;
            lock (_gate)
            {
                if (_waiting.Count == 0)
                {
                    _sending = false;
                    return;
                }
                if (_waiting.Count <= MaxBatchSize)
                {
                    (batch, _waiting) = (_waiting, []);
                }
                else
                {
                    batch = _waiting[..MaxBatchSize];
                    _waiting.RemoveRange(0, MaxBatchSize);
                }
            }
            await SendAsync(batch);
        }
    }

    private async Task SendAsync(List<Check> batch)
    {
        // The batch serves many bets, so it is a trace of its own; each bet's span links to it.
        using var activity = BetBatchPipeline.ActivitySource.StartActivity("check eligibility batch");
        try
        {
            activity?.SetTag("streambets.eligibility.batch_size", batch.Count);
            var request = new CheckEligibilityBatchRequest();
            foreach (var check in batch)
            {
                request.Checks.Add(check.Request);
                if (activity is not null)
                {
                    check.Caller?.AddLink(new ActivityLink(activity.Context));
                }
            }
            var reply = await users.CheckEligibilityBatchAsync(request, deadline: DateTime.UtcNow + CallTimeout);
            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].Answer.TrySetResult(ToRejection(reply.Replies[i]));
            }
        }
        catch (Exception e)
        {
            activity?.SetStatus(ActivityStatusCode.Error, e.Message);
            var unavailable = new DependencyUnavailableException("Users", e);
            foreach (var check in batch)
            {
                check.Answer.TrySetException(unavailable);
            }
        }
    }

    private static BetRejection? ToRejection(CheckEligibilityReply reply)
    {
        if (reply.Allowed)
        {
            return null;
        }
        var code = reply.Reason == BetRejectionCodes.UserNotFound || BetRejectionCodes.EligibilityCodes.Contains(reply.Reason)
            ? reply.Reason
            : BetRejectionCodes.NotEligible;
        return new BetRejection(code, string.IsNullOrEmpty(reply.Message) ? "You may not bet right now." : reply.Message);
    }

    private sealed record Check(CheckEligibilityRequest Request, Activity? Caller, TaskCompletionSource<BetRejection?> Answer);
}
