using System.Collections.Concurrent;
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

/// <summary>Sums one settlement counter by the value of one of its tags while it listens (a measurement without the tag sums under "").</summary>
public sealed class TaggedCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _sums = new();

    public TaggedCounter(string instrumentName, string tag)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == SettlementTelemetry.Name && instrument.Name == instrumentName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            var key = "";
            foreach (var t in tags)
            {
                if (t.Key == tag)
                {
                    key = (string)t.Value!;
                }
            }
            _sums.AddOrUpdate(key, value, (_, sum) => sum + value);
        });
        _listener.Start();
    }

    public long Sum(string tagValue) => _sums.GetValueOrDefault(tagValue);

    public void Dispose() => _listener.Dispose();
}
