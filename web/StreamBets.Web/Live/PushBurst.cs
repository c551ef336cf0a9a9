namespace StreamBets.Web.Live;

/// <summary>
/// Gathers pushes that come in a burst (a player's many bets settled at once) and hands them over together, once per
/// <see cref="Window"/>: what they cause (reads, toasts) then costs one call per burst, not one per push, and stays
/// within the player's gateway budget, which their next bet needs. Call <see cref="AddAsync"/> on the component's
/// dispatcher (InvokeAsync), so calls never overlap.
/// </summary>
public sealed class PushBurst<T>(TimeProvider time, Func<IReadOnlyList<T>, Task> handle)
{
    public static readonly TimeSpan Window = TimeSpan.FromMilliseconds(500);

    private List<T>? _gathering;

    public async Task AddAsync(T push)
    {
        if (_gathering is not null)
        {
            _gathering.Add(push); // the burst's first push is waiting out the window
            return;
        }
        _gathering = [push];
        await Task.Delay(Window, time);
        var burst = _gathering;
        _gathering = null;
        await handle(burst);
    }
}
