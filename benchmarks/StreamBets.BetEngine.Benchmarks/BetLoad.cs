using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using StreamBets.Testing;

namespace StreamBets.BetEngine.Benchmarks;

public sealed record LoadReport(
    int Offered, double OfferedRate, double Seconds, int Accepted, int Pending, IReadOnlyDictionary<string, int> Failures, double AcceptedPerSecond,
    double P50Ms, double P90Ms, double P99Ms, double P999Ms, double MaxMs, long AcceptedStakeMinor, int TotalAccepted, string Cpu)
{
    public override string ToString()
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"Measured {Offered} bets offered at {OfferedRate:F0}/s over {Seconds:F1} s (after warm-up):");
        text.AppendLine(CultureInfo.InvariantCulture, $"  accepted {Accepted} ({AcceptedPerSecond:F0} bets/s), pending {Pending}");
        foreach (var (failure, count) in Failures.OrderByDescending(f => f.Value))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  {failure}: {count}");
        }
        text.AppendLine(CultureInfo.InvariantCulture, $"  latency p50 {P50Ms:F1} ms, p90 {P90Ms:F1} ms, p99 {P99Ms:F1} ms, p99.9 {P999Ms:F1} ms, max {MaxMs:F1} ms");
        text.Append(Cpu);
        return text.ToString();
    }
}

/// <summary>
/// An open-loop load: bet i is due at i / rate seconds and its latency counts from then, so queueing in the client or
/// the server is never hidden. Each player always backs the same outcome (the one-outcome rule) with the minimum stake.
/// </summary>
public static class BetLoad
{
    public static async Task<LoadReport> RunAsync(BenchmarkOptions options, PreparedRun run)
    {
        using var http = new HttpClient(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = 1_024,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        })
        { BaseAddress = new Uri(options.BetsUrl), Timeout = TimeSpan.FromSeconds(30) };

        var total = (int)(options.Rate * (options.Warmup + options.Duration).TotalSeconds);
        var latencyTicks = new long[total];
        var outcomes = new string?[total];
        var runId = Guid.NewGuid().ToString("N")[..8];
        var inFlight = 0;
        var tasks = new ConcurrentBag<Task>();
        var clock = Stopwatch.StartNew();
        var ticksPerBet = (double)Stopwatch.Frequency / options.Rate;
        var first = (int)(options.Rate * options.Warmup.TotalSeconds);
        ProcessCpu? cpuAtStart = null;

        for (var i = 0; i < total; i++)
        {
            if (i == first)
            {
                cpuAtStart = ProcessCpu.Sample();
            }
            var due = (long)(i * ticksPerBet);
            while (clock.ElapsedTicks < due)
            {
                await Task.Delay(1);
            }
            if (Volatile.Read(ref inFlight) >= options.MaxInFlight)
            {
                outcomes[i] = "client-overloaded";
                continue;
            }
            Interlocked.Increment(ref inFlight);
            tasks.Add(SendAsync(i, due));
        }
        // The window is the measured sending time: bets still in flight after it were offered inside it.
        var cpu = ProcessCpu.Report(cpuAtStart ?? ProcessCpu.Sample(), ProcessCpu.Sample(), options.Duration.TotalSeconds, total - first, "bet offered");
        await Task.WhenAll(tasks);

        async Task SendAsync(int i, long due)
        {
            var player = run.Players[i % run.Players.Count];
            var outcome = run.Outcomes[i % run.Players.Count % run.Outcomes.Length];
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/bets")
            {
                Content = new StringContent(
                    $"{{\"poolId\":\"{run.PoolId}\",\"outcomeId\":\"{outcome}\",\"stakeMinor\":{run.MinStakeMinor}}}", Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", player.Token);
            request.Headers.Add("Idempotency-Key", $"{runId}-{i}");
            try
            {
                using var response = await http.SendAsync(request);
                outcomes[i] = response.StatusCode switch
                {
                    HttpStatusCode.Created => "accepted",
                    HttpStatusCode.Accepted => "pending",
                    _ => $"{(int)response.StatusCode} {ProblemType(await response.Content.ReadAsStringAsync())}",
                };
            }
            catch (Exception e)
            {
                outcomes[i] = e.GetType().Name;
            }
            finally
            {
                latencyTicks[i] = clock.ElapsedTicks - due;
                Interlocked.Decrement(ref inFlight);
            }
        }

        var measured = Enumerable.Range(first, total - first).ToArray();
        var sorted = measured.Where(i => latencyTicks[i] > 0).Select(i => latencyTicks[i] * 1000.0 / Stopwatch.Frequency).Order().ToArray();
        double Percentile(double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
        var seconds = options.Duration.TotalSeconds;
        var accepted = measured.Count(i => outcomes[i] == "accepted");
        var failures = measured.Select(i => outcomes[i] ?? "none").Where(o => o is not "accepted" and not "pending")
            .GroupBy(o => o).ToDictionary(g => g.Key, g => g.Count());
        var totalAccepted = outcomes.Count(o => o == "accepted");
        return new LoadReport(
            measured.Length, options.Rate, seconds, accepted, measured.Count(i => outcomes[i] == "pending"), failures, accepted / seconds,
            Percentile(0.50), Percentile(0.90), Percentile(0.99), Percentile(0.999), sorted.Length == 0 ? double.NaN : sorted[^1],
            totalAccepted * run.MinStakeMinor, totalAccepted, cpu);
    }

    private static string ProblemType(string body)
    {
        const string marker = "\"type\":\"";
        var start = body.IndexOf(marker, StringComparison.Ordinal);
        if (start < 0)
        {
            return "";
        }
        start += marker.Length;
        var end = body.IndexOf('"', start);
        return end < 0 ? "" : body[start..end].Replace("https://streambets.dev/problems/", "", StringComparison.Ordinal);
    }
}
