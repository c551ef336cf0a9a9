using System.Diagnostics.Metrics;

namespace StreamBets.Messaging.Tests;

/// <summary>Reads the bus's instruments (Meter <c>StreamBets.Messaging</c>) as an exporter would, while it is alive.</summary>
internal sealed class MessagingMetrics : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly List<(string Instrument, double Value, KeyValuePair<string, object?>[] Tags)> _measurements = [];

    public MessagingMetrics(params string[] instruments)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == MessagingTelemetry.Name && instruments.Contains(instrument.Name))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.Start();
    }

    /// <summary>What the gauge reports now for the series with these tags (every replica's, the highest), or null when none reports it.</summary>
    public double? Gauge(string instrument, params (string Key, object Value)[] series)
    {
        int observedFrom;
        lock (_measurements)
        {
            observedFrom = _measurements.Count;
        }
        _listener.RecordObservableInstruments();
        lock (_measurements)
        {
            return _measurements.Skip(observedFrom).Where(m => Matches(m, instrument, series)).Select(m => (double?)m.Value).Max();
        }
    }

    /// <summary>The sum of what the counter counted for the series with these tags since this listener started.</summary>
    public double Counted(string instrument, params (string Key, object Value)[] series)
    {
        lock (_measurements)
        {
            return _measurements.Where(m => Matches(m, instrument, series)).Sum(m => m.Value);
        }
    }

    /// <summary>How many measurements the instrument took for the series with these tags since this listener started.</summary>
    public int Measurements(string instrument, params (string Key, object Value)[] series)
    {
        lock (_measurements)
        {
            return _measurements.Count(m => Matches(m, instrument, series));
        }
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        lock (_measurements)
        {
            _measurements.Add((instrument.Name, value, tags.ToArray()));
        }
    }

    private static bool Matches((string Instrument, double Value, KeyValuePair<string, object?>[] Tags) measurement, string instrument, (string Key, object Value)[] series) =>
        measurement.Instrument == instrument && series.All(s => measurement.Tags.Any(t => t.Key == s.Key && Equals(t.Value, s.Value)));

    public void Dispose() => _listener.Dispose();
}
