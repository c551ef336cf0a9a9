// SignalR fan-out on this machine: N WebSocket clients watch one pool; its odds change every --interval-ms; each
// change travels the real path (outbox -> relay -> Redis Streams -> Realtime's consumer -> odds coalescer -> Redis
// backplane -> every client) and the delay from the change to each client's delivery is measured.
//
//   dotnet build -c Release services/StreamBets.Realtime && dotnet build -c Release benchmarks/StreamBets.Realtime.Benchmarks
//   dotnet run -c Release --no-build --project benchmarks/StreamBets.Realtime.Benchmarks -- \
//       [--connections 500] [--replicas 1] [--seconds 10] [--warmup 3] [--interval-ms 250] [--connect-concurrency 50]
using System.Diagnostics;
using System.Globalization;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Realtime.Benchmarks;

var options = FanOutOptions.Parse(args);
Console.WriteLine($"Real-time fan-out benchmark: {Environment.ProcessorCount} cores, {options}");

await using var stack = await SelfHostedRealtime.StartAsync(options.Replicas);
var poolId = Guid.NewGuid();
var outcomes = new[] { Guid.NewGuid(), Guid.NewGuid() };

var connecting = Stopwatch.StartNew();
await using var clients = await FanOutClients.ConnectAsync(stack.Urls, options.Connections, poolId, options.ConnectConcurrency);
Console.WriteLine($"{options.Connections:N0} connections watching pool {poolId} after {connecting.Elapsed.TotalSeconds:F1} s");

var changes = 0L;
async Task ChangeOddsForAsync(TimeSpan duration)
{
    var clock = Stopwatch.StartNew();
    for (var tick = 1; clock.Elapsed < duration; tick++)
    {
        var due = options.ChangeInterval * tick;
        if (due > clock.Elapsed)
        {
            await Task.Delay(due - clock.Elapsed);
        }
        var total = Interlocked.Increment(ref changes) * 100;
        await stack.PublishAsync(new OddsChanged(poolId, total,
            [new OutcomeStakes(outcomes[0], total / 2, (int)changes), new OutcomeStakes(outcomes[1], total - total / 2, (int)changes)], DateTimeOffset.UtcNow));
    }
}

await ChangeOddsForAsync(options.Warmup);
await Task.Delay(1_000);
clients.ResetCount();
clients.Recording = true;
var changesBefore = Interlocked.Read(ref changes);
await ChangeOddsForAsync(options.Duration);
await Task.Delay(2_000); // the last pushes still on their way
clients.Recording = false;

var published = Interlocked.Read(ref changes) - changesBefore;
var delays = clients.TakeDelays();
double Percentile(double p) => delays.Length == 0 ? double.NaN : delays[Math.Min(delays.Length - 1, (int)Math.Ceiling(p * delays.Length) - 1)];
Console.WriteLine();
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"Odds changes published: {published:N0}; deliveries: {clients.Received:N0} ({clients.Received / (double)Math.Max(1, published * options.Connections):P1} of changes x connections; the coalescer may merge changes closer than 250 ms)"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"Delay from odds change to delivery: p50 {Percentile(0.50):F1} ms, p90 {Percentile(0.90):F1} ms, p99 {Percentile(0.99):F1} ms, max {(delays.Length > 0 ? delays[^1] : double.NaN):F1} ms"));
Console.WriteLine($"Load average at the end: {File.ReadAllText("/proc/loadavg").Trim()}");
