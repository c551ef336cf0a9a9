using Microsoft.Extensions.Hosting;
using StreamBets.Messaging;
using StreamBets.Settlement.Data;
using StreamBets.Testing;

namespace StreamBets.Settlement.Tests;

/// <summary>The runbook names log events by name and number: in one process each must mean one event (<see cref="LogEvents"/>).</summary>
public sealed class LogEventTests
{
    [Fact]
    public void Settlement_names_every_log_event_and_numbers_each_once() =>
        LogEvents.AssertDistinct(typeof(SettlementStore).Assembly, typeof(OutboxRelayOptions).Assembly, typeof(PeriodicRounds).Assembly);
}
