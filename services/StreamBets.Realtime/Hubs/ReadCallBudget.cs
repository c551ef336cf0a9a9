namespace StreamBets.Realtime.Hubs;

/// <summary>
/// One caller's allowance of the hub's read-side calls (watch, unwatch, catch-up, chat history), chat sends and moderation calls.
/// Anyone may make them and each costs the shared Redis work (a backplane SUBSCRIBE, up to 200 replayed messages, a
/// caller's rank), refused or not, so one caller looping them, on one socket or many, must not be free (<see cref="HubCallers"/>). A token bucket: a page's burst on
/// connect fits, a loop runs dry and then gets the refill rate.
/// </summary>
public sealed class ReadCallBudget(int burst, double perSecond, TimeProvider time)
{
    private readonly Lock _gate = new();
    private double _calls = burst;
    private long _countedAt = time.GetTimestamp();

    /// <summary>Whether the budget has refilled to its burst: a caller forgotten now would get nothing new back.</summary>
    public bool IsFull
    {
        get
        {
            lock (_gate)
            {
                return _calls + time.GetElapsedTime(_countedAt).TotalSeconds * perSecond >= burst;
            }
        }
    }

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
