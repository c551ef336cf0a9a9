namespace StreamBets.Messaging;

/// <summary>Who this process is on the bus: its service (consumer group, CloudEvents source) and its own instance name.</summary>
internal sealed class EventBusIdentity(string serviceName)
{
    public string ServiceName { get; } = serviceName;

    /// <summary>The consumer group: every replica of a service shares it, so each event is handled once per service.</summary>
    public string ConsumerGroup => ServiceName;

    public Uri Source { get; } = new($"urn:streambets:{serviceName}", UriKind.Absolute);

    /// <summary>Unique per process and per bus, so two hosts in one test process are two consumers.</summary>
    public string InstanceName { get; } = $"{serviceName}-{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}";
}
