using Microsoft.Extensions.Hosting;
using StreamBets.Messaging;
using StreamBets.Testing;
using StreamBets.Users.Ledger;

namespace StreamBets.Users.Tests;

/// <summary>The runbook names log events by name and number: in one process each must mean one event (<see cref="LogEvents"/>).</summary>
public sealed class LogEventTests
{
    [Fact]
    public void Users_names_every_log_event_and_numbers_each_once() =>
        LogEvents.AssertDistinct(typeof(LedgerStore).Assembly, typeof(OutboxRelayOptions).Assembly, typeof(PeriodicRounds).Assembly);
}
