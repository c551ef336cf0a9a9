using System.Globalization;
using StreamBets.Testing;

namespace StreamBets.Realtime.Benchmarks;

/// <param name="Connections">WebSocket clients, all watching the same pool.</param>
/// <param name="Replicas">Realtime processes; clients are spread over them evenly (the backplane joins them).</param>
/// <param name="ChangeInterval">How often the pool's odds change (the Bet Engine publishes at most every 250 ms per pool).</param>
/// <param name="ConnectConcurrency">Connections opened at once while ramping up.</param>
public sealed record FanOutOptions(int Connections, int Replicas, TimeSpan Duration, TimeSpan Warmup, TimeSpan ChangeInterval, int ConnectConcurrency)
{
    public static FanOutOptions Parse(string[] args)
    {
        var arguments = new BenchmarkArguments(args);
        // Several replicas first share the bus partitions out (leases of 10 s): measure after that has settled.
        var replicas = arguments.Number("replicas", 1);
        return new FanOutOptions(
            arguments.Number("connections", 500),
            replicas,
            TimeSpan.FromSeconds(arguments.Number("seconds", 10)),
            TimeSpan.FromSeconds(arguments.Number("warmup", replicas > 1 ? 20 : 3)),
            TimeSpan.FromMilliseconds(arguments.Number("interval-ms", 250)),
            arguments.Number("connect-concurrency", 50));
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Connections:N0} connections over {Replicas} replica(s), an odds change every {ChangeInterval.TotalMilliseconds:0} ms for {Duration.TotalSeconds:0} s after {Warmup.TotalSeconds:0} s of warm-up");
}
