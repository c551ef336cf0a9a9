using Microsoft.Extensions.Hosting;
using StreamBets.Testing;

namespace StreamBets.Messaging.Tests;

/// <summary>Every service runs Messaging's and ServiceDefaults' log events beside its own (each service's tests check the three together).</summary>
public sealed class LogEventTests
{
    [Fact]
    public void Messaging_and_ServiceDefaults_name_every_log_event_and_number_each_once()
    {
        LogEvents.AssertDistinct(typeof(OutboxRelayOptions).Assembly, typeof(PeriodicRounds).Assembly);
        Assert.Contains(LogEvents.In(typeof(OutboxRelayOptions).Assembly), e => e is { Id: 3204, Name: "RedisStreamsEntryTrimmed" });
    }
}
