using Microsoft.Extensions.Hosting;
using StreamBets.BetEngine.Data;
using StreamBets.Gateway.RateLimiting;
using StreamBets.Messaging;
using StreamBets.Testing;

namespace StreamBets.BetEngine.Tests;

/// <summary>The runbook names log events by name and number: in one process each must mean one event (<see cref="LogEvents"/>).</summary>
public sealed class LogEventTests
{
    [Fact]
    public void The_Bet_Engine_names_every_log_event_and_numbers_each_once() =>
        LogEvents.AssertDistinct(typeof(BetStore).Assembly, typeof(OutboxRelayOptions).Assembly, typeof(PeriodicRounds).Assembly);

    [Fact]
    public void The_Gateway_names_every_log_event_and_numbers_each_once() =>
        LogEvents.AssertDistinct(typeof(RedisRateLimiter).Assembly, typeof(PeriodicRounds).Assembly);
}
