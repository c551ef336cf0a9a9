using System.Collections.Concurrent;
using System.Reflection;

namespace StreamBets.Contracts.IntegrationEvents;

/// <summary>
/// A fact one bounded context publishes for the others. Records are immutable and versioned:
/// a breaking change is a new record with a new type name (".v2"), never an edit of the old one.
/// </summary>
public interface IIntegrationEvent
{
    /// <summary>
    /// The id of the aggregate the fact is about (pool id, user id...). It is the partition key on the bus,
    /// so the events of one aggregate arrive in the order they were committed.
    /// </summary>
    string AggregateId { get; }
}

/// <summary>The stable wire identity of an integration event: its CloudEvents <c>type</c> and the topic (bounded context) it travels on.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class IntegrationEventAttribute(string type, string topic) : Attribute
{
    /// <summary>Stable CloudEvents type, e.g. "streambets.wallet.changed.v1". Never reuse or rename one.</summary>
    public string Type { get; } = type;

    /// <summary>One topic per bounded context, see <see cref="IntegrationTopics"/>.</summary>
    public string Topic { get; } = topic;
}

/// <summary>The bus topics: one per bounded context that publishes.</summary>
public static class IntegrationTopics
{
    public const string Users = "users";
    public const string Wallet = "wallet";
    public const string Pools = "pools";
    public const string Bets = "bets";
    public const string Settlement = "settlement";
    public const string Payments = "payments";
    public const string Integration = "integration";
    public const string Fraud = "fraud";
}

/// <summary>Looks up the wire identity of an event type, once per type.</summary>
public static class IntegrationEventMetadata
{
    private static readonly ConcurrentDictionary<Type, IntegrationEventAttribute> Cache = new();

    public static IntegrationEventAttribute Of(Type eventType) => Cache.GetOrAdd(eventType, static type =>
        type.GetCustomAttribute<IntegrationEventAttribute>()
            ?? throw new InvalidOperationException($"{type.FullName} has no [IntegrationEvent(type, topic)] attribute."));

    public static IntegrationEventAttribute Of<TEvent>() where TEvent : IIntegrationEvent => Of(typeof(TEvent));

    /// <summary>Every integration event the contracts library defines.</summary>
    public static IReadOnlyList<Type> ContractEvents { get; } = typeof(IIntegrationEvent).Assembly.GetTypes()
        .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(IIntegrationEvent).IsAssignableFrom(t))
        .OrderBy(t => t.Name, StringComparer.Ordinal)
        .ToArray();
}
