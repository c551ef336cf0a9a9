using Confluent.Kafka;

namespace StreamBets.Messaging.Transports.Kafka;

/// <summary>
/// A producer that is built anew after a fatal error (idempotence or epoch lost): librdkafka's broken producer fails
/// every later message, so without a new one the publisher, or a consumer's dead-letter queue, would fail forever.
/// </summary>
internal sealed class ReplaceableProducer(Func<IProducer<string, byte[]>> createProducer) : IDisposable
{
    private IProducer<string, byte[]> _current = createProducer();

    public IProducer<string, byte[]> Current => _current;

    /// <summary>Builds the next producer when <paramref name="error"/> is fatal; the caller sends again on it later.</summary>
    public void ReplaceIfFatal(Exception? error)
    {
        if (error is KafkaException { Error.IsFatal: true })
        {
            var failed = _current;
            _current = createProducer();
            failed.Dispose();
        }
    }

    public void Dispose()
    {
        _current.Flush(TimeSpan.FromSeconds(5));
        _current.Dispose();
    }
}
