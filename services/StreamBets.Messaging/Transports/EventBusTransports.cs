using Microsoft.Extensions.Hosting;

namespace StreamBets.Messaging;

/// <summary>Chooses and registers the transport named by <c>Messaging:Transport</c>.</summary>
internal static class EventBusTransports
{
    public static void Add(IHostApplicationBuilder builder, EventBusOptions options)
    {
        // Filled in with the relay and the consumers.
        _ = builder;
        _ = options;
    }
}
