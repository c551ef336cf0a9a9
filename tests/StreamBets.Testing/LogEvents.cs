using System.Reflection;
using Microsoft.Extensions.Logging;

namespace StreamBets.Testing;

/// <summary>
/// The log events one service's process can write, read from the <see cref="LoggerMessageAttribute"/>s of the assemblies
/// it runs (its own, Messaging's, ServiceDefaults'). The runbook and the alert rules find an event by its name and by
/// its number, so within a process each must mean one event: every event named, no name twice, and no number from 1000
/// up twice (numbers below 1000 are each class's own, told apart by the logger's category).
/// </summary>
public static class LogEvents
{
    public sealed record LogEvent(int Id, string? Name, string Method);

    public static IReadOnlyList<LogEvent> In(params Assembly[] assemblies) =>
    [
        .. assemblies.Distinct().SelectMany(assembly => assembly.GetTypes())
            .SelectMany(type => type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly))
            .Select(method => (Method: method, Attribute: method.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(m => m.Attribute is not null)
            .Select(m => new LogEvent(m.Attribute!.EventId, m.Attribute.EventName, $"{m.Method.DeclaringType!.FullName}.{m.Method.Name}")),
    ];

    /// <summary>The rules above, with every breach in the failure's message.</summary>
    public static void AssertDistinct(params Assembly[] assemblies)
    {
        var events = In(assemblies);
        var unnamed = events.Where(e => string.IsNullOrEmpty(e.Name)).Select(e => $"{e.Method} (event {e.Id}) has no EventName");
        var names = events.Where(e => !string.IsNullOrEmpty(e.Name)).GroupBy(e => e.Name).Where(g => g.Count() > 1)
            .Select(g => $"EventName {g.Key} is used by {string.Join(", ", g.Select(e => e.Method))}");
        var numbers = events.Where(e => e.Id >= 1000).GroupBy(e => e.Id).Where(g => g.Count() > 1)
            .Select(g => $"EventId {g.Key} is used by {string.Join(", ", g.Select(e => $"{e.Name} ({e.Method})"))}");
        var breaches = unnamed.Concat(names).Concat(numbers).ToList();
        if (events.Count == 0)
        {
            breaches.Add("No [LoggerMessage] found: the assemblies given are not the service's.");
        }
        if (breaches.Count > 0)
        {
            throw new InvalidOperationException(string.Join(Environment.NewLine, breaches));
        }
    }
}
