// Measures the event backbone end to end on this machine: events written to the outbox in PostgreSQL transactions,
// relayed to Redis Streams, consumed by a consumer group, recorded in the inbox and handled.
//
//   dotnet run -c Release --project benchmarks/StreamBets.Messaging.Benchmarks -- [--events 200000] [--batch 100]
//       [--writers 4] [--rate 1000] [--seconds 30] [--notify 1]
//
// Phase 1 (throughput): writers commit --batch events per transaction as fast as they can, --events in all.
// Phase 2 (latency): one event per transaction at --rate events/s for --seconds; p50/p99 from the outbox write to the handler.
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;
using StreamBets.Messaging.Benchmarks;
using StreamBets.Testing;

var settings = BenchmarkSettings.Parse(args);
Console.WriteLine($"Event backbone benchmark: {Environment.ProcessorCount} cores, {settings}");

await using var postgres = await TestServers.StartAsync(() => new PostgresServer());
await using var redis = await TestServers.StartAsync(() => new RedisServer());

var publisherDb = await postgres.CreateDatabaseAsync("bench_pub");
var consumerDb = await postgres.CreateDatabaseAsync("bench_sub");
using var publisher = await StartAsync("bets", publisherDb, redis.ConnectionString, subscribe: false, settings.Notify);
using var consumer = await StartAsync("settlement", consumerDb, redis.ConnectionString, subscribe: true, settings.Notify);
var outbox = publisher.Services.GetRequiredService<IOutbox>();
var pools = Enumerable.Range(0, 500).Select(_ => Guid.NewGuid()).ToArray();

// Warm-up: JIT, connection pools, consumer groups and partition leases.
await WriteAsync(outbox, publisherDb, pools, 2000, batch: 100, writers: 2);
await Latencies.WaitForAsync(2000, TimeSpan.FromSeconds(60));

// Phase 1: throughput.
var cpu = new CpuMeter(postgres.Port, redis.Port);
Latencies.Reset();
var cpuBefore = cpu.Read();
var clock = Stopwatch.StartNew();
using var progress = new CancellationTokenSource();
var reporting = ReportProgressAsync(publisherDb, clock, progress.Token);
await WriteAsync(outbox, publisherDb, pools, settings.Events, settings.Batch, settings.Writers);
var written = clock.Elapsed;
await Latencies.WaitForAsync(settings.Events, TimeSpan.FromMinutes(5));
var total = clock.Elapsed;
var used = cpu.Read() - cpuBefore;
await progress.CancelAsync();
await reporting;
var throughput = Latencies.Snapshot();
Console.WriteLine();
Console.WriteLine($"Throughput: {settings.Events:N0} events, {settings.Batch} per transaction, {settings.Writers} writers");
Console.WriteLine($"  written to the outbox in {written.TotalSeconds:F1} s ({settings.Events / written.TotalSeconds:N0} events/s)");
Console.WriteLine($"  handled end to end in {total.TotalSeconds:F1} s ({settings.Events / total.TotalSeconds:N0} events/s)");
Console.WriteLine($"  write-to-handled latency p50 {throughput.P50:F1} ms, p99 {throughput.P99:F1} ms, max {throughput.Max:F1} ms");
double PerEvent(double seconds) => seconds * 1e6 / settings.Events;
Console.WriteLine($"  CPU per event: {PerEvent(used.Total):F0} µs = .NET (writers, relay, consumers) {PerEvent(used.Bus):F0} + PostgreSQL {PerEvent(used.Postgres):F0} + Redis {PerEvent(used.Redis):F0}");
Console.WriteLine($"  CPU-bound ceiling on {Environment.ProcessorCount} otherwise idle cores: {Environment.ProcessorCount / (used.Total / settings.Events):N0} events/s (load average now {File.ReadAllText("/proc/loadavg").Split(' ')[0]})");

// Phase 2: latency at a steady rate, one event per transaction (one bet, one wallet change).
Latencies.Reset();
var count = settings.Rate * settings.Seconds;
var interval = TimeSpan.FromSeconds(1.0 / settings.Rate);
clock.Restart();
var inFlight = new List<Task>(count);
using var writerSlots = new SemaphoreSlim(40); // Beyond 40 transactions in flight the box is saturated: offer less, say so.
for (var i = 0; i < count; i++)
{
    var wait = interval * i - clock.Elapsed; // read the clock once: it moves between two reads
    if (wait > TimeSpan.Zero)
    {
        await Task.Delay(wait);
    }
    await writerSlots.WaitAsync();
    var pool = pools[i % pools.Length];
    inFlight.Add(Task.Run(async () =>
    {
        try
        {
            await WriteOneAsync(outbox, publisherDb, pool);
        }
        finally
        {
            writerSlots.Release();
        }
    }));
}
await Task.WhenAll(inFlight);
var offered = count / clock.Elapsed.TotalSeconds;
await Latencies.WaitForAsync(count, TimeSpan.FromMinutes(2));
var steady = Latencies.Snapshot();
Console.WriteLine();
Console.WriteLine($"Latency: {count:N0} events at {offered:N0} events/s offered, one event per transaction");
Console.WriteLine($"  write-to-handled latency p50 {steady.P50:F1} ms, p99 {steady.P99:F1} ms, max {steady.Max:F1} ms");

await publisher.StopAsync();
await consumer.StopAsync();

static async Task<IHost> StartAsync(string service, string database, string redis, bool subscribe, bool notify)
{
    var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ApplicationName = "StreamBets.Messaging.Benchmarks", DisableDefaults = true });
    builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["ConnectionStrings:db"] = database,
        ["ConnectionStrings:redis"] = redis,
        ["Messaging:Transport"] = "RedisStreams",
        ["Messaging:ServiceName"] = service,
        ["Messaging:Relay:NotifyOnCommit"] = notify ? "true" : "false",
    });
    var bus = builder.AddEventBus("db");
    if (subscribe)
    {
        bus.AddSubscription<OddsChanged, LatencyRecordingHandler>();
    }
    var host = builder.Build();
    await host.StartAsync();
    return host;
}

static async Task WriteAsync(IOutbox outbox, string database, Guid[] pools, int events, int batch, int writers)
{
    var next = 0;
    await Task.WhenAll(Enumerable.Range(0, writers).Select(async _ =>
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        int start;
        while ((start = Interlocked.Add(ref next, batch) - batch) < events)
        {
            var size = Math.Min(batch, events - start);
            await using var transaction = await connection.BeginTransactionAsync();
            await outbox.AddRangeAsync(transaction, Enumerable.Range(start, size).Select(i => (IIntegrationEvent)Bet(pools[i % pools.Length])).ToArray());
            await transaction.CommitAsync();
        }
    }));
}

static async Task WriteOneAsync(IOutbox outbox, string database, Guid pool)
{
    await using var connection = new NpgsqlConnection(database);
    await connection.OpenAsync();
    await using var transaction = await connection.BeginTransactionAsync();
    await outbox.AddAsync(transaction, Bet(pool));
    await transaction.CommitAsync();
}

// Where the pipeline lags: rows still in the outbox (relay behind) versus events relayed but not yet handled (consumers behind).
static async Task ReportProgressAsync(string database, Stopwatch clock, CancellationToken cancellationToken)
{
    await using var connection = new NpgsqlConnection(database);
    await connection.OpenAsync(CancellationToken.None);
    while (!cancellationToken.IsCancellationRequested)
    {
        await Task.Delay(1000, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await using var pending = new NpgsqlCommand("SELECT count(*) FROM outbox", connection);
        Console.WriteLine($"  {clock.Elapsed.TotalSeconds,5:F1} s: {await pending.ExecuteScalarAsync(CancellationToken.None),8} in the outbox, {Latencies.Count,8} handled");
    }
}

// A typical small event, keyed by its pool: a pool's live odds (wallet changes and bets travel in batches now).
static OddsChanged Bet(Guid pool) => new(pool, 10_000, [new OutcomeStakes(Guid.Empty, 6_000, 12), new OutcomeStakes(Guid.NewGuid(), 4_000, 8)], DateTimeOffset.UtcNow);

namespace StreamBets.Messaging.Benchmarks
{
    internal sealed record BenchmarkSettings(int Events, int Batch, int Writers, int Rate, int Seconds, bool Notify)
    {
        public static BenchmarkSettings Parse(string[] args)
        {
            var arguments = new BenchmarkArguments(args);
            int Get(string name, int fallback) => arguments.Number(name, fallback);
            return new BenchmarkSettings(Get("events", 200_000), Get("batch", 100), Get("writers", 4), Get("rate", 1000), Get("seconds", 30), Get("notify", 1) == 1);
        }
    }

    /// <summary>Records, for each handled event, the time from its outbox write (the CloudEvents time) to the handler.</summary>
    internal sealed class LatencyRecordingHandler(TimeProvider time) : IIntegrationEventHandler<OddsChanged>
    {
        public Task HandleAsync(OddsChanged @event, IntegrationEventContext context, CancellationToken cancellationToken)
        {
            Latencies.Record((time.GetUtcNow() - context.Time).TotalMilliseconds);
            return Task.CompletedTask;
        }
    }

    internal static class Latencies
    {
        private static readonly object Gate = new();
        private static List<double> _samples = [];

        public static void Record(double milliseconds)
        {
            lock (Gate)
            {
                _samples.Add(milliseconds);
            }
        }

        public static void Reset()
        {
            lock (Gate)
            {
                _samples = [];
            }
        }

        public static async Task WaitForAsync(int count, TimeSpan timeout)
        {
            var deadline = Stopwatch.StartNew();
            while (Count < count)
            {
                if (deadline.Elapsed > timeout)
                {
                    throw new TimeoutException($"Only {Count} of {count} events were handled within {timeout}.");
                }
                await Task.Delay(5);
            }
        }

        public static int Count
        {
            get
            {
                lock (Gate)
                {
                    return _samples.Count;
                }
            }
        }

        public static (double P50, double P99, double Max) Snapshot()
        {
            double[] sorted;
            lock (Gate)
            {
                sorted = [.. _samples.Order()];
            }
            return (sorted[(int)(sorted.Length * 0.50)], sorted[Math.Min(sorted.Length - 1, (int)(sorted.Length * 0.99))], sorted[^1]);
        }
    }
}
