using System.Diagnostics.Metrics;

namespace StreamBets.Testing;

/// <summary>Gauges read on demand, as an exporter reads them at a scrape: the instruments <paramref name="observes"/> picks.</summary>
public sealed class ObservedGauges : IDisposable
{
    private readonly Dictionary<string, double> _seen = [];
    private readonly MeterListener _listener;

    public ObservedGauges(Func<Instrument, bool> observes)
    {
        _listener = new MeterListener
        {
            InstrumentPublished = (published, listener) =>
            {
                if (observes(published))
                {
                    listener.EnableMeasurementEvents(published);
                }
            },
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => _seen[instrument.Name] = value);
        _listener.SetMeasurementEventCallback<double>((instrument, value, _, _) => _seen[instrument.Name] = value);
        _listener.Start();
    }

    /// <summary>Each observed gauge's value now, by name; a gauge that reports nothing is absent.</summary>
    public Dictionary<string, double> Observe()
    {
        _seen.Clear();
        _listener.RecordObservableInstruments();
        return new Dictionary<string, double>(_seen);
    }

    public void Dispose() => _listener.Dispose();
}
