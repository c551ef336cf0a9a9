namespace StreamBets.Realtime.Hubs;

/// <summary>
/// One connection's allowance of the hub's read-side calls (watch, unwatch, catch-up, chat history), chat sends and moderation calls.
/// Anyone may make them and each costs the shared Redis work (a backplane SUBSCRIBE, up to 200 replayed messages, a
/// caller's rank), refused or not, so one socket looping them must not be free. A token bucket: a page's burst on
/// connect fits, a loop runs dry and then gets the refill rate.
/// </summary>
public sealed class ReadCallBudget(int burst, double perSecond, TimeProvider time)
{
    private readonly Lock _gate = new();
    private double _calls = burst;
    private long _countedAt = time.GetTimestamp();

    /// <summary>Takes one call; when none is left, <paramref name="retryAfter"/> says when the next one is.</summary>
    public bool TryTake(out TimeSpan retryAfter)
    {
        lock (_gate)
        {
            var now = time.GetTimestamp();
            _calls = Math.Min(burst, _calls + time.GetElapsedTime(_countedAt, now).TotalSeconds * perSecond);
            _countedAt = now;
            if (_calls >= 1)
            {
                _calls--;
                retryAfter = TimeSpan.Zero;
                return true;
            }
            retryAfter = TimeSpan.FromSeconds((1 - _calls) / perSecond);
            return false;
        }
    }
}
