using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using StreamBets.Settlement.Payouts;

namespace StreamBets.Settlement.Tests;

/// <summary>Settlement's metrics read as an exporter would.</summary>
public static class SettlementMetrics
{
    /// <summary>The settlement gauges' current values (as last reported by <see cref="SettlementBacklog"/>).</summary>
    public static Dictionary<string, double> Gauges()
    {
        var values = new Dictionary<string, double>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == SettlementTelemetry.Name && instrument.Name.StartsWith("streambets.settlement.", StringComparison.Ordinal))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => values[instrument.Name] = value);
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) => values[instrument.Name] = value);
        listener.Start();
        listener.RecordObservableInstruments();
        return values;
    }
}

/// <summary>
/// Sums one settlement counter by the value of one of its tags (a measurement without the tag, or with a null value, as
/// a settled run's reason, sums under ""), counting
/// only what runs of one pool record while it listens: the measurement is made under the run's span, which names the
/// pool (streambets.pool_id), so other pools settling meanwhile cannot disturb an exact check.
/// </summary>
public sealed class TaggedCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ActivityListener _spans;
    private readonly ConcurrentDictionary<string, long> _sums = new();

    public TaggedCounter(string instrumentName, string tag, Guid poolId)
    {
        // The runs' spans must exist for a measurement to name its pool, whatever samplers the hosts have. (The source
        // is matched by its name, a constant: the listener must not touch SettlementTelemetry while it initializes.)
        _spans = new ActivityListener
        {
            ShouldListenTo = source => source.Name == SettlementTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(_spans);

        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == SettlementTelemetry.Name && instrument.Name == instrumentName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            if (!RecordedFor(poolId))
            {
                return;
            }
            var key = "";
            foreach (var t in tags)
            {
                if (t.Key == tag)
                {
                    key = t.Value as string ?? "";
                }
            }
            _sums.AddOrUpdate(key, value, (_, sum) => sum + value);
        });
        _listener.Start();
    }

    public long Sum(string tagValue) => _sums.GetValueOrDefault(tagValue);

    public void Dispose()
    {
        _listener.Dispose();
        _spans.Dispose();
    }

    /// <summary>Whether the measurement being recorded now is made under a span of this pool's run (the nearest that names a pool).</summary>
    private static bool RecordedFor(Guid poolId)
    {
        for (var span = Activity.Current; span is not null; span = span.Parent)
        {
            if (span.GetTagItem("streambets.pool_id") is Guid id)
            {
                return id == poolId;
            }
        }
        return false;
    }
}
