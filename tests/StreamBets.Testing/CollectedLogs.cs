using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace StreamBets.Testing;

/// <summary>
/// Keeps every log record of the host it is registered in (<c>services.AddSingleton&lt;ILoggerProvider&gt;(logs)</c>) with
/// its structured properties: what the on-call would read and alert on.
/// </summary>
public sealed class CollectedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<LogRecord> _records = new();

    public IReadOnlyList<LogRecord> Records => [.. _records];

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _records);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<LogRecord> records) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            records.Enqueue(new LogRecord(category, logLevel, eventId, formatter(state, exception),
                // Copied now: the generated logging methods reuse their state object once Log returns.
                state is IEnumerable<KeyValuePair<string, object?>> properties ? [.. properties] : [], exception)
            {
                TraceId = Activity.Current?.TraceId,
            });
    }
}

public sealed record LogRecord(
    string Category, LogLevel Level, EventId EventId, string Message, IReadOnlyList<KeyValuePair<string, object?>> Properties, Exception? Exception)
{
    public string? EventName => EventId.Name;

    /// <summary>The trace of the activity current when the record was written, which an exporter would stamp on it; null when none was.</summary>
    public ActivityTraceId? TraceId { get; init; }

    public object? this[string property] => Properties.FirstOrDefault(p => p.Key == property).Value;

    /// <summary>Everything the record writes out, for checking that a secret is nowhere in it.</summary>
    public string AllText => string.Join("\n", [Message, .. Properties.Select(p => $"{p.Key}={p.Value}"), Exception?.ToString()]);
}
