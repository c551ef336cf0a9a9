using System.Diagnostics;

namespace StreamBets.Testing;

/// <summary>Records every activity of one source that stops while it is alive, whatever samplers the hosts have.</summary>
public sealed class RecordedActivities : IDisposable
{
    private readonly List<Activity> _stopped = [];
    private readonly ActivityListener _listener;

    /// <param name="sourceName">Pass the name, not the source: creating a source calls the listener, which must not
    /// touch a type whose initializer is creating it.</param>
    public RecordedActivities(string sourceName)
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == sourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity => { lock (_stopped) { _stopped.Add(activity); } },
        };
        ActivitySource.AddActivityListener(_listener);
    }

    /// <summary>The activities stopped so far.</summary>
    public IReadOnlyList<Activity> Stopped
    {
        get
        {
            lock (_stopped)
            {
                return [.. _stopped];
            }
        }
    }

    public void Dispose() => _listener.Dispose();
}
