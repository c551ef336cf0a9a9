namespace Microsoft.Extensions.Hosting;

/// <summary>
/// The loop of a background job that works in rounds (a cleanup, a recovery, a poll): one round every interval on the
/// service's <see cref="TimeProvider"/>, so tests move the clock instead of sleeping. A failed round is handed to the
/// job's own log call (each job keeps its event id) and the next round still comes on time; the service stopping ends
/// the loop quietly, between rounds or in one.
/// </summary>
public static class PeriodicRounds
{
    /// <param name="interval">More than zero: otherwise an <see cref="ArgumentOutOfRangeException"/> fails the service's start,
    /// naming the value (a setting's typo shows at once rather than as a job that spins or never runs).</param>
    /// <param name="firstRoundAtStart">Runs the first round at once rather than one interval after start.</param>
    public static async Task RunAsync(
        TimeSpan interval, TimeProvider time, Func<CancellationToken, Task> round, Action<Exception> roundFailed,
        CancellationToken stoppingToken, bool firstRoundAtStart = false)
    {
        // Zero would spin against the job's store, a negative one throw from the wait or never end it: a setting's typo.
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        if (!firstRoundAtStart && !await WaitAsync(interval, time, stoppingToken))
        {
            return;
        }
        do
        {
            try
            {
                await round(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // A timeout thrown as a cancellation is a failed round too; only the service's own stop is quiet.
                roundFailed(e);
            }
        }
        while (await WaitAsync(interval, time, stoppingToken));
    }

    private static async Task<bool> WaitAsync(TimeSpan interval, TimeProvider time, CancellationToken stoppingToken)
    {
        await Task.Delay(interval, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        return !stoppingToken.IsCancellationRequested;
    }
}
